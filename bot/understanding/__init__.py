"""Understanding customer messages: topics (a trained model) and slot values (rules).

    text.py        cleaning, normalising, cutting a message into clauses
    markets.py     marketplaces named in a message (domains, codes, country names, typos)
    slots.py       the other slot values: account type, agency, yes/no, error codes, new customer
    phrasings.py   the training data, knowledge/phrasings/<topic>.txt
    analyzers.py   scikit-learn's TF-IDF analyzers in plain Python
    model.py       the trained model as plain data, saved as one .npz
    scoring.py     topic probabilities from a model, without scikit-learn
    train.py       training with scikit-learn (`python -m bot.understanding.train`)
    cache.py       a model from the cache, or trained in a child process
    classifier.py  `Classifier.understand`: clauses, topics in order, slots

Serving processes never import scikit-learn or SciPy: only `train.py` does, in a child process
or in tests. The public names are re-exported by `bot.classify`.
"""
