// Parses each file named on the command line with Mermaid's own parser; exit 1 naming the first that fails.
// Mermaid wants a DOM (it sanitizes labels with DOMPurify): jsdom provides one, no browser needed.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");

for (const path of process.argv.slice(2)) {
  try {
    const parsed = await mermaid.parse(readFileSync(path, "utf8"));
    console.log(`${path}: ${parsed.diagramType}`);
  } catch (error) {
    console.error(`${path}: ${error?.message ?? error}`);
    process.exit(1);
  }
}
