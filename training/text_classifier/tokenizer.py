"""A tokenizer trained on our own Korean corpus, saved as a transformers fast tokenizer.

No pretrained KoBERT vocabulary is reachable offline, so the default model gets a
byte-level BPE vocabulary learned from the training sentences. Byte level on purpose:
Whisper output holds misspelled syllables (``쓰러졋어요``) that a syllable WordPiece vocabulary
would turn into ``[UNK]`` for the whole word; byte-level BPE never emits ``[UNK]``, and
frequent syllables and morphemes (``불이``, ``##어요``) still become single tokens. The result
is a ``PreTrainedTokenizerFast`` with BERT's special tokens, so ``save_pretrained`` /
``from_pretrained`` work offline and a real KoBERT tokenizer can replace it unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_tokenizer(texts: Iterable[str], vocab_size: int, max_length: int) -> PreTrainedTokenizerFast:
    """Learn a byte-level BPE vocabulary of ``vocab_size`` from ``texts``.

    NFC normalisation keeps composed Hangul syllables (``BertNormalizer``'s accent
    stripping would decompose them into jamo); ``max_length`` becomes the tokenizer's
    ``model_max_length`` so truncation happens on tokens.
    """
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Strip()])
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(texts), trainer=trainer)
    return as_bert_tokenizer(tokenizer, max_length)


def as_bert_tokenizer(tokenizer: Tokenizer, max_length: int) -> PreTrainedTokenizerFast:
    """``tokenizer`` (holding :data:`SPECIAL_TOKENS`) wrapped for BERT: ``[CLS] text [SEP]``,
    ``[PAD]`` padding, truncation at ``max_length`` tokens."""
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )
