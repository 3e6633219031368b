"""The BM25 tokenizer: a jieba instance of its own whose user dictionary comes from the knowledge base."""

from __future__ import annotations

import subprocess
import sys

from assistant.ingest.loaders import discover, load_document
from assistant.resources import load_yaml
from assistant.store import tokenizer as tk
from tests.conftest import KNOWLEDGE, REPO


def test_tokenizing_leaves_jiebas_global_dictionary_alone():
    code = (
        "import jieba\n"
        "from assistant.store.tokenizer import tokenize\n"
        "assert '钉钉' in tokenize('钉钉的价值循环')\n"
        "print(jieba.dt.initialized, '钉钉' in jieba.dt.FREQ)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_user_dictionary_comes_from_front_matter_glossary_and_the_data_file():
    words = set(tk.user_words())
    names = set()
    for path in discover([KNOWLEDGE]):
        doc = load_document(path)
        names.update(n.lower() for n in [doc.company_zh, *doc.aliases] if n and tk._usable(n.lower()))
    glossary = {t.lower() for t in tk._glossary_terms(KNOWLEDGE) if tk._usable(t.lower())}
    listed = set(load_yaml("store/tokenizer.yaml")["user_words"])
    assert {"钉钉", "小红书", "拼多多"} <= names <= words
    assert {"私域", "下沉市场", "北极星指标"} <= glossary <= words
    assert listed <= words
    # the data file holds only what the knowledge base does not already name
    assert listed & (names | glossary) == set()


def test_user_words_stay_whole_and_stop_words_go():
    tokens = tk.tokenize("钉钉的北极星指标是什么？Which is the value loop?")
    assert "钉钉" in tokens and "北极星指标" in tokens
    assert {"的", "什么", "is", "the"}.isdisjoint(tokens)
    assert {"value", "loop"} <= set(tokens)
    assert tk.word_frequency("钉钉") == tk.USER_WORD_FREQ
    assert ("网易云音乐", 0, 5) in tk.word_spans("网易云音乐的运营")
