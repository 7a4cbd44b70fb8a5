#!/usr/bin/env python3
"""Writes tests/fixtures/smollm2_reference.json: what lrbench's own C++ must agree with, made by
independent code on the same GGUF:
  - token ids from Hugging Face `tokenizers` (a BPE built from the GGUF's vocabulary and merges with
    SmolLM2's pre-tokenizer: Digits(individual) then ByteLevel) for tests/fixtures/tokenizer_text.txt and for
    the first 1024 tokens of /usr/share/common-licenses/GPL-3;
  - dequantized values from ggml's own Python reader (`gguf` on PyPI) for a few tensors;
  - a NumPy float32 forward pass (written here, apart from the C++) over the first REF_TOKENS tokens of
    GPL-3: per position the top-1 token, its logit, and the log-likelihood of the next token.

Needs deps/venv (scripts/setup --reference):  deps/venv/bin/python scripts/make_model_fixtures.py
"""
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import tokenizers
from gguf import GGUFReader
from gguf.quants import dequantize
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

ROOT = Path(__file__).resolve().parent.parent
GGUF = ROOT / "deps/models/SmolLM2-135M-Instruct.Q4_1.gguf"
GPL3 = Path("/usr/share/common-licenses/GPL-3")
REF_TOKENS = 128


def field(reader, key):
    f = reader.fields[key]
    if len(f.types) and f.types[0].name == "ARRAY":
        return [bytes(f.parts[i]).decode("utf-8") if f.types[-1].name == "STRING" else f.parts[i].tolist()[0]
                for i in f.data]
    v = f.parts[f.data[0]]
    return bytes(v).decode("utf-8") if f.types[0].name == "STRING" else v.tolist()[0]


def hf_tokenizer(reader):
    tokens = field(reader, "tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in field(reader, "tokenizer.ggml.merges")]
    types = field(reader, "tokenizer.ggml.token_type")
    tok = Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([t for t, ty in zip(tokens, types) if ty == 3])
    return tok


def weights(reader):
    w = {}
    for t in reader.tensors:
        a = dequantize(t.data, t.tensor_type).astype(np.float32)
        w[t.name] = a.reshape([int(d) for d in reversed(t.shape)]) if a.ndim == 1 and len(t.shape) > 1 else a
    return w


def rms_norm(x, g, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * g


def rope_pairs(x, base):  # x [T, heads, d]; GGUF's llama weights pair elements (2i, 2i+1)
    t, _, d = x.shape
    inv = base ** (-np.arange(0, d, 2, dtype=np.float64) / d)
    ang = np.arange(t)[:, None] * inv[None, :]
    cos, sin = np.cos(ang)[:, None, :].astype(np.float32), np.sin(ang)[:, None, :].astype(np.float32)
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = a * sin + b * cos
    return out


def forward(w, ids, heads, kv_heads, layers, eps, base):
    x = w["token_embd.weight"][ids]
    t, dim = x.shape
    hd = dim // heads
    mask = np.triu(np.full((t, t), -np.inf, dtype=np.float32), 1)
    for l in range(layers):
        p = f"blk.{l}."
        h = rms_norm(x, w[p + "attn_norm.weight"], eps)
        q = rope_pairs((h @ w[p + "attn_q.weight"].T).reshape(t, heads, hd), base)
        k = rope_pairs((h @ w[p + "attn_k.weight"].T).reshape(t, kv_heads, hd), base)
        v = (h @ w[p + "attn_v.weight"].T).reshape(t, kv_heads, hd)
        rep = heads // kv_heads
        k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = np.einsum("hts,shd->thd", s, v).reshape(t, dim)
        x = x + o @ w[p + "attn_output.weight"].T
        h = rms_norm(x, w[p + "ffn_norm.weight"], eps)
        g, u = h @ w[p + "ffn_gate.weight"].T, h @ w[p + "ffn_up.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * u) @ w[p + "ffn_down.weight"].T
    x = rms_norm(x, w["output_norm.weight"], eps)
    head = w["output.weight"] if "output.weight" in w else w["token_embd.weight"]
    return x @ head.T


def main():
    reader = GGUFReader(str(GGUF))
    tok = hf_tokenizer(reader)
    fixture = (ROOT / "tests/fixtures/tokenizer_text.txt").read_text(encoding="utf-8")
    gpl = GPL3.read_text(encoding="utf-8")
    gpl_ids = tok.encode(gpl).ids[:1024]
    w = weights(reader)
    ids = gpl_ids[:REF_TOKENS]
    logits = forward(w, np.array(ids), field(reader, "llama.attention.head_count"),
                     field(reader, "llama.attention.head_count_kv"), field(reader, "llama.block_count"),
                     field(reader, "llama.attention.layer_norm_rms_epsilon"), field(reader, "llama.rope.freq_base"))
    logits = logits.astype(np.float64)
    lse = np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)) + logits.max(-1)
    out = {
        "made_by": "scripts/make_model_fixtures.py",
        "gguf_sha256": hashlib.sha256(GGUF.read_bytes()).hexdigest(),
        "tokenizers_version": tokenizers.__version__,
        "numpy_version": np.__version__,
        "fixture_text_ids": tok.encode(fixture).ids,
        "gpl3_sha256": hashlib.sha256(GPL3.read_bytes()).hexdigest(),
        "gpl3_first_1024_ids": gpl_ids,
        "dequantized": {name: [float(v) for v in w[name].reshape(-1)[:64]]
                        for name in ["token_embd.weight", "blk.0.attn_q.weight", "blk.29.ffn_down.weight",
                                     "output_norm.weight"]},
        "reference_tokens": REF_TOKENS,
        "reference_top1": [int(v) for v in logits.argmax(-1)],
        "reference_top1_logit": [float(v) for v in logits.max(-1)],
        "reference_logsumexp": [float(v) for v in lse],
        "reference_next_logprob": [float(logits[i, ids[i + 1]] - lse[i]) for i in range(len(ids) - 1)],
    }
    path = ROOT / "tests/fixtures/smollm2_reference.json"
    path.write_text(json.dumps(out) + "\n")
    nll = -np.mean(out["reference_next_logprob"])
    print(f"{path}: {len(out['fixture_text_ids'])} fixture ids, ppl over {REF_TOKENS} GPL-3 tokens {np.exp(nll):.3f}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
