"""A tiny GPT-2 trained here on request → JSON-schema pairs, saved as a local checkpoint.

Nothing is downloaded: the word-level tokenizer is built from the training texts and
the model from a GPT2Config.  The texts are made by the package's own prompt code
(``first_messages``, ``retry_message``, ``plain_prompt``) and the retry pair carries
the exact refusal the validator gives for the bad proposal, so the model learns the
conversation the retry loop really has.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from synthtab_db.errors import SynthError
from synthtab_db.prompt.local_model import plain_prompt
from synthtab_db.prompt.propose import check_reply, first_messages, retry_message

SHOP_REQUEST = "customers and orders for a lesson on joins"
LIBRARY_REQUEST = "authors and their books"
POEM_REQUEST = "write a poem about the sea"

SHOP = {"tables": [
    {"name": "customers", "rows": 30, "columns": [
        {"name": "id", "type": "INTEGER", "primary_key": True},
        {"name": "name", "type": "VARCHAR", "not_null": True, "comment": "full name"},
        {"name": "email", "type": "VARCHAR", "unique": True, "comment": "contact email"},
        {"name": "city", "type": "VARCHAR"}]},
    {"name": "orders", "rows": 90, "columns": [
        {"name": "id", "type": "INTEGER", "primary_key": True},
        {"name": "customer_id", "type": "INTEGER", "not_null": True, "references": "customers.id"},
        {"name": "ordered_on", "type": "DATE"},
        {"name": "status", "type": "VARCHAR", "check": "status IN ('new', 'paid', 'shipped')"},
        {"name": "total", "type": "DECIMAL(10,2)", "check": "total >= 0"}]}]}

BOOKS_BAD = {"tables": [
    {"name": "authors", "columns": [
        {"name": "id", "type": "INTEGER", "primary_key": True},
        {"name": "name", "type": "VARCHAR"}]},
    {"name": "books", "columns": [
        {"name": "id", "type": "INTEGER", "primary_key": True},
        {"name": "author_id", "type": "INTEGER", "references": "writers"},
        {"name": "title", "type": "VARCHAR"}]}]}

BOOKS_GOOD = json.loads(json.dumps(BOOKS_BAD).replace('"writers"', '"authors"'))

NOTHING = {"tables": []}


def compact(spec: dict) -> str:
    return json.dumps(spec, separators=(",", ":"))


def refusal(reply: str) -> str:
    try:
        check_reply(reply)
    except SynthError as err:
        return str(err)
    raise AssertionError("the bad proposal was accepted")


def training_texts() -> list[str]:
    bad = compact(BOOKS_BAD)
    retry = first_messages(LIBRARY_REQUEST) + [{"role": "assistant", "content": bad}, retry_message(refusal(bad))]
    pairs = [(first_messages(SHOP_REQUEST), compact(SHOP)), (first_messages(LIBRARY_REQUEST), bad),
             (retry, compact(BOOKS_GOOD)), (first_messages(POEM_REQUEST), compact(NOTHING))]
    return [plain_prompt(messages) + reply for messages, reply in pairs]


#: JSON keys with their punctuation (``,"type":"``), closing quotes with closers (``"}]``), words, spaces:
#: a proposal is a few hundred tokens instead of a thousand, which is what lets training stay short.
PIECES = r'[{\[,]*"[a-z_]+":"?|"[}\]]*|[}\]]+|[A-Za-z0-9_]+|\s+|.'


def build_tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    split = pre_tokenizers.Split(Regex(PIECES), behavior="isolated")
    words = sorted({w for t in texts for w, _ in split.pre_tokenize_str(t)})
    vocab = {w: i for i, w in enumerate(["<pad>", "<eos>", "<unk>"] + words)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer, core.decoder = split, decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>",
                                   clean_up_tokenization_spaces=False)


def train(path: Path, steps: int = 150, seed: int = 0, lr: float = 1e-2) -> Path:
    """Train on the pairs until they are memorised and save model + tokenizer under ``path``."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # the test machine is shared: more threads only fight
    texts = training_texts()
    tokenizer = build_tokenizer(texts)
    batch = tokenizer([t + "<eos>" for t in texts], padding=True, return_tensors="pt")
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=1024, n_embd=64, n_layer=2, n_head=2,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    model = GPT2LMHeadModel(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        loss = model(**batch, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval().save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
