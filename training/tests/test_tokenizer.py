"""WordPiece tokenizer: the contract's rules (docs/contracts/model-bundle.md, Tokenizer)."""

import pytest

from gkmvlp.tokenizer import CLS_ID, PAD_ID, SEP_ID, UNK_ID, WordPieceTokenizer, basic_split

CORPUS = [
    "Mild cardiomegaly. No pneumothorax.",
    "Small left pleural effusion; right lung clear.",
    "Is there a pleural effusion? yes",
    "The cardiac silhouette is enlarged, severe.",
]


@pytest.fixture(scope="module")
def tok():
    return WordPieceTokenizer.train(CORPUS, vocab_size=500)


def test_specials_have_fixed_ids_and_training_is_deterministic(tok):
    assert tok.vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert WordPieceTokenizer.train(list(reversed(CORPUS)), vocab_size=500).vocab == tok.vocab


def test_basic_split_isolates_punctuation_and_lowercases():
    assert basic_split("Mild  CARDIOMEGALY.No\tpneumo-thorax!") == [
        "mild",
        "cardiomegaly",
        ".",
        "no",
        "pneumo",
        "-",
        "thorax",
        "!",
    ]


def test_round_trip_glues_punctuation(tok):
    ids, mask = tok.encode("Mild cardiomegaly. No pneumothorax.", 32)
    assert ids[0] == CLS_ID and ids[ids.index(SEP_ID) - 1] != PAD_ID
    assert tok.decode(ids) == "mild cardiomegaly. no pneumothorax."
    assert sum(mask) == ids.index(SEP_ID) + 1 and len(ids) == 32 and ids[-1] == PAD_ID


def test_unseen_word_is_split_into_continuation_pieces(tok):
    ids = tok.tokenize("pleurals")
    pieces = [tok.vocab[i] for i in ids]
    assert pieces[0] == "pleural" and all(p.startswith("##") for p in pieces[1:])
    assert tok.decode(ids) == "pleurals"


def test_non_ascii_and_overlong_words_become_unk(tok):
    ids = tok.tokenize("caf\u00e9")  # the accented char is split off as its own word
    assert ids[-1] == UNK_ID and UNK_ID not in ids[:-1] and tok.decode(ids) == "caf"
    assert tok.tokenize("\u2013") == [UNK_ID]  # isolated punctuation not in vocab
    assert tok.tokenize("a" * 101) == [UNK_ID]
    assert tok.tokenize("a" * 100) != [UNK_ID]


def test_truncation_keeps_sep_last_and_empty_text(tok):
    ids, mask = tok.encode("pleural " * 50, 10)
    assert ids[0] == CLS_ID and ids[-1] == SEP_ID and len(ids) == 10 and all(mask)
    assert tok.encode("", 4) == ([CLS_ID, SEP_ID, PAD_ID, PAD_ID], [1, 1, 0, 0])
    with pytest.raises(ValueError):
        tok.encode("x", 1)


def test_decode_drops_specials(tok):
    assert tok.decode([CLS_ID, UNK_ID, SEP_ID, PAD_ID]) == ""


def test_save_load_round_trip_and_bad_vocab(tmp_path, tok):
    p = tmp_path / "vocab.txt"
    tok.save(p)
    again = WordPieceTokenizer.load(p)
    assert again.vocab == tok.vocab
    assert p.read_text().split("\n")[5] == tok.vocab[5]
    with pytest.raises(ValueError, match="must start with"):
        WordPieceTokenizer(["a", "b"])
    with pytest.raises(FileNotFoundError):
        WordPieceTokenizer.load(tmp_path / "missing.txt")
