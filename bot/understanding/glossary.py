"""Words of other languages -> the English words the phrasings use, before the model reads them.

Customers write in German, Spanish, French, Italian, romanised Hindi, Chinese or Japanese, or
mix a few of those words into English ("mein konto not showing after login"). The phrasings
cannot hold every language for every topic, but the topics turn on a few hundred domain words
(connect, account, data, invite, delete, permissions...). Translating those words makes a
German or code-switched message read like the English phrasings the model was trained on, so
one English example teaches every language. Training and serving both pass through `normalize`,
so the model never sees the untranslated forms.

Table format, one English meaning per line: `english = form form ...` (an indented line goes on).
A form ending in `*` is a stem (any word starting with it); `_` joins the words of a phrase; a form
in Chinese or Japanese script is replaced wherever it occurs (those scripts have no spaces). A word
is looked up as typed, then without accents, so a form written without them ("loschen") matches
both spellings, and one written with them ("marché", not the French "marche" of "ça marche") only that.
A form that is also a common English word ("was", "come", "die", "due") is left out on purpose.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from functools import cache
from typing import Final

_TABLE: Final = """
connect = verbinden verbinde verbindet verbunden verbindung verknupfen verknupft anbinden conectar conecto koppelen
    koppel gekoppeld koppeling aansluiten
    conectado
    conectada conectamos conectarlo conecte conexion vincular vinculo vinculado vinculamos connecter connecte
    connectez
    connectons connexion relier lier collegare collego collegato collegata collegati colleghiamo collegamento
    ricollegare jodna jodne jod 连接 绑定 关联 接続 連携 リンク
account = konto konten kontos cuenta cuentas compte comptes khata 账户 账号 帐号 帐户 アカウント conta contas
amazon = 亚马逊 アマゾン
how = wie como comment kaise kese 怎么 如何 怎样 どうやって どうすれば どうやったら kaisa kaise hoe
what = quoi cosa kya 什么 何 wat
where = wo donde kahan kahaan 哪里 在哪 どこ onde waar
when = wann cuando quand quando kab 什么时候 いつ quando wanneer
why = warum pourquoi perche kyun kyon 为什么 なぜ waarom
which = welche welcher welches cual quel quelle quale kaun kaunsa 哪个 哪种 どちら どの welke welk
can = kann konnen kannst puedo podemos puede puedes peux pouvons peut posso possiamo puo sakta sakte 可以 できます
    kunnen
want = mochte mochten quiero queremos veux voulons voudrais voglio vorrei vogliamo chahta chahte 想 したい quero
    queremos
need = brauche brauchen benotige benotigen necesito necesitamos necesitan necesario besoin faut bisogno 需要 必要
    chahiye chahie zaroori preciso precisamos
requirements = voraussetzungen voraussetzung anforderungen requisitos requisito prerequis requisiti 要求 条件
before = bevor vorher antes avant prima pehle 之前 以前 前に pehle antes
after = nachdem despues apres dopo baad 之后 以后 后 後
already = schon bereits deja gia 已经 すでに もう reeds
still = noch immer todavia aun toujours encore ancora abhi 还是 仍然 依然 まだ ainda nog_steeds nogsteeds sigue
not = nicht kein keine keinen keiner pas nahi nahin 不 没有 没 ない ません niet geen
never = nie niemals nunca jamais kabhi 从来没有 从来 ことがありません
nothing = nichts nada rien niente kuch 什么都没有 niets
since = seit depuis desde hace 以来 sinds
three = drei tres trois tre teen 三
two = zwei dos deux 两 二
four = vier cuatro quatre quattro chaar 四
five = funf cinco cinq cinque paanch 五
days = tage tagen dias jours giorni 天 dias dagen
hours = stunden horas heures ghante 小时 時間
week = woche semana semaine settimana hafte 星期 週間
yesterday = gestern ayer ieri 昨天 昨日
today = heute hoy oggi aaj 今天 今日
data = daten datos donnees dati 数据 データ dados gegevens
sync = synchronisierung synchronisiert synchronisieren sincronizacion sincronizar synchronisation sincronizzazione
    sincronizzare 同步 同期
how long = wie_lange cuanto_tiempo combien_de_temps quanto_tempo kitna_time kitna_samay 多长时间 多久 どのくらい
empty = leer leere vacia vacio vide vuota vuoto khali 空 空白 vazio vazia
show = angezeigt anzeigen erscheint aparece aparecen apparait affiche appare dikh dikhta dikhai dikhta 显示 表示 getoond
    weergegeven verschijnt
see = sehen seht sieht sehe voir vedere vedo dekh 看到 見え zien
list = liste lista 列表 一覧 suchi
login = anmelden anmeldung angemeldet einloggen eingeloggt iniciar_sesion accedi 登录 登陆 ログイン サインイン entrar
code = codigo codice 验证码 コード
password = passwort contrasena mot_de_passe 密码 パスワード senha wachtwoord
verification email = bestatigungsmail bestatigungsemail
email = correo courriel 邮件 メール
verification = bestatigung 确认 verificacion verification verifica 验证 確認
invite = einladen einladung einlade invitar invitacion inviter invitare invito 邀请 招待 convidar convite uitnodigen
    uitnodiging
colleague = kollege kollegin kollegen companero companera colega collegue collega colleghi 同事 同僚
received = bekomme bekommen erhalten angekommen recibo recibi recibido llega llegado recois recu ricevo ontvangen
    gekregen
    ricevuto recebi recebido chegou
    arriva mila 收到 届
forgot = vergessen olvide olvidado oublie dimenticato bhool bhul 忘记 忘れ
access = zugang zugriff acceso acces accesso 访问 アクセス toegang
permissions = berechtigung berechtigungen rechte permisos permiso droits autorisations permessi 权限 権限 rechten
    machtigingen bevoegdheden
view permissions = leserechte leserecht
edit permissions = bearbeitungsrechte schreibrechte
viewer = betrachter lector lecteur visualizzatore 查看者 閲覧者
view = lesen ver 查看 閲覧 bekijken
edit = bearbeiten editar modificar modifier modifica modificare 编辑 編集 bewerken
admin = administrator administrador administrateur amministratore 管理员 管理者
manage = 管理
recognise = erkennt erkennen reconoce reconnait riconosce 认 認識 herkend herkent herkennen reconoc*
safe = sicher sicherheit seguro segura securise sicuro sicurezza 安全 veilig
error = fehler fehlermeldung erreur errore 错误 出错 エラー erro foutmelding
window = fenster ventana fenetre finestra 窗口 ウィンドウ
screen = bildschirm pantalla ecran schermo 画面 页面
agency = agentur agencia agence agenzia 代理公司 代理店 代理 agencia
client = kunde kunden kundin cliente clientes 客户 クライアント klant klanten
console = 后台 コンソール konsole consola
tool = werkzeug herramienta outil strumento 工具 ツール
old = alte alten anterior ancien ancienne vecchio precedente purana 旧
remove = entfernen quitar quito retirer rimuovere togliere hatana hatao 移除 撤销 取り消
delete = loschen losche geloscht eliminar elimino borrar supprimer supprime cancellare eliminare 删除 削除 excluir
    apagar
cancel = kundigen cancelar annuler resilier annullare 取消 キャンセル 解約
pause = pausieren pausar 暂停 一時停止
advertising = werbung werbeanzeigen publicidad anuncios publicite pubblicita annunci vigyapan 广告 広告 anuncios
campaigns = kampagne kampagnen campana campanas campagne campagnes campagna キャンペーン campanhas
active = aktiv aktive aktiven activa activas activo actif actifs attiva attive attivo
person = mensch menschen humain insaan aadmi 人工 担当者 真人
talk = sprechen reden hablar parler parlare baat 说话 話し
red = rot roter rote roten rojo rouge rosso laal 红 赤い
dot = punkt punto 点
product = produkt produkte producto productos produit produits prodotto prodotti 商品 产品
mean = bedeutet bedeutung significa signifie matlab 意思 意味
seller = verkaufer vendedor vendeur venditore 卖家 セラー
vendor = lieferant anbieter proveedor fournisseur fornitore 供应商 ベンダー fornecedor
difference = unterschied diferencia difference differenza antar farak 区别 違い
organization = organisation organizacion organizzazione 组织 組織 organisatie
create = erstellen erstelle crear creer creare 创建 作成
add = hinzufugen fuge_hinzu anadir anado agregar agrego ajouter aggiungere aggiungo 添加 追加 toevoegen
another = weiteren weitere weiteres zusatzlich otro otra autre supplementaire altro altra 另一个 另外 もう一つ
several = mehrere varias varios plusieurs diversi multipli 多个 複数
group = gruppieren gruppiere agrupar agrupo regrouper raggruppare 放在一起 まとめ
button = schaltflache knopf boton bouton pulsante 按钮 ボタン
cost = kostet kosten cuesta cuestan coste costo precio coute prix costa prezzo paisa 多少钱 费用 料金 custa custo
billed = abgerechnet rechnung factura facturado cobra cobran facture fatturato fattura 收费 請求
marketplace = marktplatz marktplatze mercado marché marchés mercato 站点 マーケットプレイス
each = jeden jede cada chaque ogni 每
month = monat mes mois mese mahina 每月
pay = bezahlen zahlen pagar payer pagare 付费 支付
help = hilfe ayuda aide aiuto madad 帮助 助けて ajuda
works = funktioniert funciona fonctionne funziona werkt
not working = 不行 不能用 用不了
problem = problema probleme 问题 問題
fails = fehlgeschlagen scheitert falla fallo echoue echec fallisce fallito 失败 失敗
region = region regione 地区 地域
start = anfangen beginnen empezar comenzar empiezo commencer demarrer iniziare inizio inizia shuru 开始 始め
first = erste ersten primera premiere primo pehli 第一 初めて
step = schritt paso etape passo 步骤
dashboard = armaturenbrett tablero tableau_de_bord cruscotto 仪表板 ダッシュボード
loading = ladt cargando chargement caricamento 加载 読み込み
my = mein meine meinen mi mis mon ma mio mia mera meri 我的
we = wir nosotros nous noi hum 我们 私たち
i = ich je io 我 私
is = ist hai 是
"""


# Portuguese (Brazil), Dutch, Turkish and Polish; then Arabic, written without hamza on alef, with ه for ة and
# ي for a final ى (how `strip_accents` folds them), and without the prefixes و ف ب ل ال that words carry.
_MORE_LANGUAGES: Final = """
connect = conectei conectamos conexao vincular vinculei integrar integrei integracao verbonden aangesloten
    bağla* bağlan* bagla* baglan* połącz* polacz* podłącz* podlacz*
    ربط* اربط نربط يربط تربط مربوط متصل توصيل الربط
account = hesap* hesab* kontem kontu konta
    حساب* حسابات
amazon = امازون
how = nasil nasıl jak كيف كيفيه ازاي شلون
what = ماذا ايش شو
where = nerede gdzie اين وين فين
when = ne_zaman kiedy متي امتي
why = por_que pra_que para_que neden dlaczego لماذا ليش ليه
which = qual quais hangi który która które ktory ktora ktore اي
can = consigo conseguimos podem mogę moge możemy mozemy ممكن يمكن يمكنني يمكننا استطيع نستطيع اقدر نقدر
want = gostaria gostariamos wil willen istiyorum chcę chce chcemy اريد نريد ابغي نبغي ابي عايز عاوز بدي
need = precisa necessario gerekiyor gerekli potrzebuję potrzebuje potrzebujemy احتاج نحتاج يحتاج لازم مطلوب
requirements = voorwaarden vereisten gereksinim* wymagania متطلبات شروط
before = voordat önce once przed قبل
after = nadat sonra po بعد
already = zaten już juz بالفعل
still = nog hâlâ nadal wciąż wciaz لسه لازال مازال
not = nao değil degil yok لا لم ليس مش مو
nothing = niks hiçbir hicbir nic ولا_شي
since = há sinds önce temu منذ من_زمان
days = dagen gün gun gündür gundur dni dzień dzien ايام يوم
two days = يومين
hours = uren saat saattir godzin godziny godzinę ساعات ساعه
two hours = ساعتين
week = weken hafta tydzień tydzien اسبوع اسابيع
yesterday = ontem gisteren dün dun wczoraj امس البارحه
today = hoje vandaag bugün bugun dzisiaj dziś dzis اليوم
data = gegevens veri verile* dane danych بيانات معلومات
sync = sincronizacao sincronizar sincronizando sincronizou synchronisatie synchroniseren senkron* synchroniz*
    مزامنه تزامن
empty = leeg boş bos pusty pusta puste فارغ فاضي فاضيه
show = mostra mostrando aparecem zichtbaar görün* gorun* widać widac wyświetla* wyswietla* يظهر تظهر ظاهر
see = veo vemos vejo zie görüyorum goruyorum widzę widze اشوف اري شايف
login = inloggen giriş giris zaloguj* logowanie تسجيل_الدخول
password = şifre* sifre* parola hasło haslo كلمه_المرور كلمه_السر باسورد
email = e-posta e-mail e-maila بريد ايميل البريد_الالكتروني
message = mensagem bericht mesaj wiadomość wiadomosc رساله
verification = verificacao confirmacao verificatie doğrulama dogrulama weryfikacja* تحقق التحقق تفعيل تاكيد
received = recebemos chegaram gelmedi otrzymałem otrzymalem dostałem dostalem وصلني وصلتني تصلني وصلتنا استلمت
invite = convidei davet* zaproszenie zaprosz* دعوه ادعو
colleague = collega meslektaş meslektas kolega kolegi زميل زميلي زميلتي
access = acesso acessar erişim* erisim* dostęp dostep وصول
permissions = permissao permissoes yetki* uprawnienia uprawnień صلاحيه صلاحيات اذونات
view = visualizacao visualizar görüntüle* goruntule* podgląd podglad مشاهده عرض
edit = edicao düzenle* duzenle* edycja edytuj تعديل تحرير
admin = beheerder yönetici yonetici مدير مسؤول ادمن
owner = dono dona proprietario eigenaar sahibi właściciel wlasciciel مالك صاحب
partner = socio ortak wspólnik wspolnik شريك
safe = seguranca güvenli guvenli güvenlik guvenlik bezpieczn* امن امان
error = hata błąd blad خطا غلط
agency = ajans agencja وكاله
client = müşteri musteri klient klienta عميل* عملاء
tool = ferramenta araç arac narzędzie narzedzie اداه برنامج
remove = remover tirar kaldır* kaldir* usun* ازاله
delete = verwijderen sil silmek مسح حذف احذف امسح
cancel = cancelamento opzeggen annuleren iptal anuluj* انهاء الغاء الغي كنسل
advertising = publicidade propaganda advertenties adverteren reklam* اعلان* اعلانات
campaigns = campagnes kampanya* kampani* حملات حمله حملاتنا
active = ativa ativas ativo ativos actief aktif aktywn* نشط نشطه فعال فعاله شغاله
person = pessoa atendente humano medewerker mens temsilci insan człowiek czlowiek konsultant* موظف شخص انسان بشري ممثل
support = suporte destek wsparcie دعم خدمه_العملاء
talk = falar praten spreken konuşmak konusmak porozmawiać porozmawiac اتكلم اتحدث اكلم التحدث نتكلم
seller = satıcı satici sprzedawca بائع بائعون بائعين سيلر
vendor = leverancier tedarikçi tedarikci dostawca مورد موردين فيندور
difference = diferenca verschil fark różnica roznica فرق
organization = organizacao kuruluş kurulus organizasyon organizacja منظمه مؤسسه
create = criar criei aanmaken oluştur* olustur* utworz* انشاء انشئ
add = adicionar adicionei incluir ekle* doda* اضافه اضيف نضيف اضف
another = başka baska inny inne اخر اخري ثاني
cost = kost ücret ucret fiyat koszt* تكلفه سعر بكم تكلف
billed = cobrado cobranca fatura fatur* faktura* فاتوره فواتير
pay = betalen öde* ode* zapłac* zaplac* ادفع ندفع دفع
marketplace = pazaryeri mağaza magaza sklep سوق متجر
help = helpen hulp yardım* yardim* pomoc* مساعده ساعدني ساعدوني
works = çalışıyor calisiyor çalışmıyor calismiyor działa dziala يعمل يشتغل شغال
problem = probleem sorun مشكله
region = regiao regio bölge bolge منطقه
start = comecar iniciar beginnen başla* basla* zacząć zaczac rozpocz* ابدا نبدا بدء البدء
first = primeira primeiro eerste ilk pierwsz* اول الاول
step = etapa stap adım adim krok خطوه خطوات
second = segunda segundo tweede ikinci drug* ثاني الثانيه
authorize = autorizacao autorizar autorizei autoriseren yetkilendir* autoryz* تفويض ترخيص
dashboard = painel paneel panel لوحه
hello = olá ola hallo merhaba cześć czesc مرحبا اهلا هلا السلام_عليكم
thanks = obrigado obrigada bedankt dank teşekkür* tesekkur* dzięki dzieki dziękuję dziekuje شكرا
my = meu minha meus minhas mijn benim mój moj moja
we = nós wij biz my_firma
with = مع
old tool = pacvue teikametrics skai kenshoo quartile helium10 helium_10 sellics flywheel intentwise adbrew junglescout
    jungle_scout sellozo zontools zon.tools adbadger ad_badger scaleinsights scale_insights trellis sellerapp
    adlabs m19 pattern_ads marinsoftware marin_software
monday = montag lunes lundi lunedi segunda-feira maandag pazartesi poniedziałek poniedzialek الاثنين 星期一 月曜日
tuesday = dienstag martes mardi martedi terça-feira terca-feira dinsdag salı wtorek الثلاثاء 星期二 火曜日
wednesday = mittwoch miercoles mercredi mercoledi quarta-feira woensdag çarşamba carsamba środa sroda الاربعاء 星期三
    水曜日
thursday = donnerstag jueves jeudi giovedi quinta-feira donderdag perşembe persembe czwartek الخميس 星期四 木曜日
friday = freitag viernes vendredi venerdi sexta-feira vrijdag cuma piątek piatek الجمعه 星期五 金曜日
saturday = samstag sabado samedi sabato zaterdag cumartesi sobota السبت 星期六 土曜日
sunday = sonntag domingo dimanche domenica zondag pazar niedziela الاحد 星期日 星期天 日曜日
forgot = esqueci esquecemos vergeten unuttum zapomniałem zapomnialem zapomniałam zapomnialam نسيت نسينا
have = tenho temos heb hebben mam mamy لدي عندي عندنا
only = só somente apenas alleen sadece tylko فقط
i = eu ik
do = fazer faço faco doen yapmak zrobić zrobic
is = é
"""

_NUMERALS: Final = {"一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "十": "10"}
# "三天", "3日", "两周": a count of days, hours or weeks in Chinese or Japanese, read as "3 days"
_CJK_DURATION_RE: Final = re.compile(r"([0-9一二两三四五六七十]+)\s*(?:个)?(天|日間|日|小时|時間|周|週間|星期)")
_CJK_UNITS: Final = {"天": "days", "日間": "days", "日": "days", "小时": "hours", "時間": "hours",
                     "周": "weeks", "週間": "weeks", "星期": "weeks"}  # fmt: skip
_CJK_CHAR_RE: Final = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


_ARABIC_FOLD: Final = str.maketrans({"ة": "ه", "ى": "ي", "ـ": None})
_ARABIC_RE: Final = re.compile(r"[\u0620-\u06d3]")
# Arabic writes "and", "so", "with", "for" and "the" onto the word (والبيانات, بحسابي); tried off, longest first.
_ARABIC_PREFIXES: Final = ("وبال", "وال", "فال", "بال", "كال", "لل", "ال", "و", "ف", "ب", "ل")
_ARABIC_SUFFIXES: Final = ("كم", "هم", "ها", "نا", "ي", "ه", "ك")


def strip_accents(word: str) -> str:
    """ "lösche" -> "losche", "sesión" -> "sesion", "أمازون" -> "امازون": how the table spells its forms."""
    decomposed = unicodedata.normalize("NFD", word)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ß", "ss")
    return folded.translate(_ARABIC_FOLD) if _ARABIC_RE.search(folded) else folded


def _arabic_forms(word: str) -> list[str]:
    """An Arabic word as typed, then without its prefixes, then also without a pronoun ending (حسابنا)."""
    bare = [word, *(word[len(p):] for p in _ARABIC_PREFIXES if word.startswith(p) and len(word) - len(p) >= 2)]
    return bare + [b[: -len(s)] for b in bare for s in _ARABIC_SUFFIXES if b.endswith(s) and len(b) - len(s) >= 3]


class _Glossary:
    def __init__(self, table: str) -> None:
        self.words: dict[str, str] = {}
        self.stems: list[tuple[str, str]] = []
        phrases: dict[str, str] = {}
        scripts: dict[str, str] = {}
        for english, forms in _entries(table):
            for form in forms:
                if _ARABIC_RE.search(form):
                    form = strip_accents(form)
                if _CJK_CHAR_RE.search(form):
                    scripts.setdefault(form, english)
                elif "_" in form:
                    phrases.setdefault(form.replace("_", " "), english)
                elif form.endswith("*"):
                    self.stems.append((form[:-1], english))
                else:
                    self.words.setdefault(form, english)
        self.phrase_re = _alternation(phrases, r"\b(?:", r")\b")
        self.phrases = phrases
        self.script_re = _alternation(scripts, "(?:", ")")
        self.scripts = scripts
        # the stems in table order, as one pattern (the first listed that fits wins, as in a loop over them)
        self.stem_of: dict[str, str] = {}
        for stem, english in self.stems:
            self.stem_of.setdefault(stem, english)
        self.stem_re = re.compile("|".join(re.escape(stem) for stem in self.stem_of)) if self.stem_of else None
        # customers' words repeat: each is looked up once (bounded, so no text can grow it without end)
        self.translate_word = functools.lru_cache(maxsize=65536)(self._translate_word)

    def translate_text(self, text: str) -> str:
        """Phrases and Chinese or Japanese words in lower-cased text -> English words, spaced apart."""
        if _CJK_CHAR_RE.search(text):
            text = _CJK_DURATION_RE.sub(_duration, text)
            if self.script_re is not None:
                text = self.script_re.sub(lambda m: f" {self.scripts[m.group(0)]} ", text)
        if self.phrase_re is not None:
            plain = strip_accents(text) if not text.isascii() else text
            if self.phrase_re.search(plain):
                text = self.phrase_re.sub(lambda m: f" {self.phrases[m.group(0)]} ", plain)
        return text

    def _translate_word(self, word: str) -> str:
        if _ARABIC_RE.search(word):
            return self._arabic_word(word)
        found = self.words.get(word)
        if found is None and not word.isascii():
            found = self.words.get(strip_accents(word))
        if found is None:
            return self._by_stem(word) or word
        return found

    def _by_stem(self, word: str) -> str | None:
        match = self.stem_re.match(word) if self.stem_re is not None else None
        return self.stem_of[match.group(0)] if match else None

    def _arabic_word(self, word: str) -> str:
        forms = _arabic_forms(strip_accents(word))
        for form in forms:
            if form in self.words:
                return self.words[form]
        for form in forms:
            english = self._by_stem(form)
            if english is not None:
                return english
        return word


def _entries(table: str) -> list[tuple[str, list[str]]]:
    """(english, forms) of every entry; an indented line continues the entry above it."""
    entries: list[tuple[str, list[str]]] = []
    for line in table.splitlines():
        if not line.strip():
            continue
        if line.startswith(" ") and entries:
            entries[-1][1].extend(_forms(line))
            continue
        english, _, forms = line.partition(" = ")
        entries.append((english.strip(), _forms(forms)))
    return entries


def _forms(text: str) -> list[str]:
    return text.split()


def _alternation(forms: dict[str, str], before: str, after: str) -> re.Pattern[str] | None:
    if not forms:
        return None
    ordered = sorted(forms, key=len, reverse=True)  # the longest form wins: 验证码 before 验证
    return re.compile(before + "|".join(re.escape(f) for f in ordered) + after)


def _duration(match: re.Match[str]) -> str:
    count = "".join(_NUMERALS.get(ch, ch) for ch in match.group(1))
    return f" {count} {_CJK_UNITS[match.group(2)]} "


@cache
def glossary() -> _Glossary:
    """The table, parsed once, on first use."""
    return _Glossary(_TABLE + _MORE_LANGUAGES)
