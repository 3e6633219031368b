"""BM25 tokens: jieba's search-mode words for Chinese, lower-cased words for English.

jieba runs as a `jieba.Tokenizer` instance of its own, so importing the store changes nothing in jieba's
global dictionary (other code, and other libraries, keep jieba's stock words). The instance's user
dictionary comes from the knowledge base itself: the company names and aliases in the documents' front
matter, the glossary's terms, and the few domain words that stand in neither
(`resources/store/tokenizer.yaml`). That file also holds the stop words.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from assistant.core.schema import FrontMatter, split_front_matter
from assistant.resources import load_yaml

# Bump when tokenization changes: stored BM25 tokens are then recomputed on the next ingest. (The user
# dictionary's own fingerprint is part of the store signature too, so a new company does the same.)
TOKENIZER_VERSION = "2"
# The bundled knowledge base, whose front matter and glossary name the words jieba must keep whole.
KNOWLEDGE_DIR = Path(__file__).resolve().parents[2] / "knowledge"
GLOSSARY = Path("framework") / "glossary.md"
# jieba's frequency for a user word: high enough that "价值循环" or "钉钉" always stays one token
USER_WORD_FREQ = 20000

_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
# the runs of text jieba segments with its dictionary (jieba's re_han_default): a word with any other
# character (a space, "/") can never match
_JIEBA_BLOCK = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+")
# a glossary entry: "- **公域 (public-domain traffic)**：…"
_GLOSSARY_TERM = re.compile(r"^- \*\*([^*(（]+?)\s*[(（]", re.MULTILINE)
_lock = threading.Lock()
_tokenizer: Any = None


@cache
def stopwords() -> frozenset[str]:
    table = load_yaml("store/tokenizer.yaml")["stopwords"]
    return frozenset(str(word) for words in table.values() for word in words)


def _usable(word: str) -> bool:
    """A word jieba can match: Chinese in it (English is split on word boundaries anyway), and only
    characters jieba keeps in one block."""
    return bool(_HAN.search(word)) and bool(_JIEBA_BLOCK.fullmatch(word))


def _front_matter(path: Path) -> FrontMatter | None:
    """A knowledge document's validated front matter; None for a file without one, or one that fails
    (ingest reports that file; the dictionary just goes without its names)."""
    header, body = split_front_matter(path.read_text(encoding="utf-8-sig", errors="replace"))
    if header is None or not body.strip():
        return None
    try:
        return FrontMatter.model_validate(yaml.safe_load(header))
    except (yaml.YAMLError, ValidationError):
        return None


def _front_matter_names(knowledge_dir: Path) -> list[str]:
    """The Chinese names and aliases in the front matter of the knowledge folder's Markdown files (the
    store reads the files itself: the ingest package, which loads documents, sits above it)."""
    names: list[str] = []
    paths = sorted(p for p in knowledge_dir.rglob("*.md") if p.name.lower() != "readme.md")
    for front in filter(None, map(_front_matter, paths)):
        names.extend(n for n in [front.company_zh, *front.aliases] if n)
    return names


def _glossary_terms(knowledge_dir: Path) -> list[str]:
    glossary = knowledge_dir / GLOSSARY
    if not glossary.is_file():
        return []
    return [m.group(1).strip() for m in _GLOSSARY_TERM.finditer(glossary.read_text(encoding="utf-8"))]


@cache
def user_words(knowledge_dir: Path = KNOWLEDGE_DIR) -> tuple[str, ...]:
    """The user dictionary: front matter names, glossary terms, then the resource file's words; each once,
    lower-cased like the text it is matched against."""
    found: dict[str, None] = {}
    sources = [*_front_matter_names(knowledge_dir), *_glossary_terms(knowledge_dir)]
    sources.extend(load_yaml("store/tokenizer.yaml")["user_words"])
    for word in sources:
        word = str(word).strip().lower()
        if _usable(word):
            found.setdefault(word, None)
    return tuple(found)


def dictionary_fingerprint() -> str:
    """Short hash of the user dictionary: stored tokens made with another dictionary are out of date."""
    return hashlib.sha1("\n".join(sorted(user_words())).encode("utf-8")).hexdigest()[:8]


def jieba_tokenizer() -> Any:
    """The process's one jieba instance with the user dictionary (built on first use, about a second)."""
    global _tokenizer  # one dictionary load shared by every caller in the process
    with _lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            for word in user_words():
                tokenizer.add_word(word, freq=USER_WORD_FREQ)
            _tokenizer = tokenizer
    return _tokenizer


def tokenize(text: str) -> list[str]:
    """BM25 tokens: jieba's search-mode words for Chinese, lower-cased words for English, no
    punctuation or stop words."""
    skip = stopwords()
    tokens = []
    for token in jieba_tokenizer().lcut_for_search(text.lower()):
        token = token.strip()
        if token and _TOKEN_OK.search(token) and token not in skip:
            tokens.append(token)
    return tokens


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """jieba's words of `text` (default mode) with their start and end offsets."""
    return [(word, begin, end) for word, begin, end in jieba_tokenizer().tokenize(text)]


def word_frequency(word: str) -> int:
    """How common a word is in the tokenizer's dictionary (0 for a word it does not know)."""
    return int(jieba_tokenizer().FREQ.get(word) or 0)


def parts_of_speech(text: str) -> list[tuple[str, str]]:
    """jieba's words of `text` with their part-of-speech flags ("r" pronoun, "d" adverb, "n" noun…),
    tagged with the same dictionary as `tokenize`."""
    return [(pair.word, pair.flag) for pair in _pos_tagger().cut(text)]


@cache
def _pos_tagger() -> Any:
    """One part-of-speech tagger over the process's jieba instance: building one reads the whole
    dictionary's tags (about 0.2 s), which a tagger per call paid for every clause of every question."""
    import jieba.posseg

    return jieba.posseg.POSTokenizer(jieba_tokenizer())
