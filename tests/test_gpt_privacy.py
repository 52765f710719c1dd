"""USING gpt with differential privacy: opacus's per-row gradients of the GPT-2 are exact, a
DP run spends what was asked (result set, ledger), and nothing from a single record reaches
the output: a planted category, extreme value or unique text (tiny networks, CPU)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("opacus")

import synthtab_db  # noqa: E402
from synthtab_db.errors import SynthError  # noqa: E402
from synthtab_db.models.gpt.encoding import BOS, ROW  # noqa: E402
from synthtab_db.models.gpt.model import GptSynthesizer  # noqa: E402
from synthtab_db.models.gpt.private_training import UnitSampling, dp_optimizer, row_losses  # noqa: E402
from synthtab_db.models.gpt.sequences import IGNORE  # noqa: E402

TINY = "seed = 5, n_layer = 1, n_head = 2, device = 'cpu'"
SMALL = f"epochs = 1, n_embd = 16, {TINY}"
UNIQUE, EXTREME = "Zelda Quux-Unique", 987_654_321
PLANTED_TITLE = "Zyxwvut Planted Quixotic Unrepeatable Title"


def _tiny_gpt2(vocabulary: int = 30):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=vocabulary, n_positions=16, n_embd=8, n_layer=1, n_head=2, resid_pdrop=0.0,
                        embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=None, eos_token_id=None, pad_token_id=0)
    return GPT2LMHeadModel(config)


def _sequences(rows: int = 5, width: int = 9, vocabulary: int = 30) -> np.ndarray:
    """``<bos> <row> tokens...`` rows of different lengths (the rest NOTHING)."""
    rng = np.random.default_rng(1)
    batch = np.full((rows, width), -1, dtype=np.int64)
    for r in range(rows):
        length = 4 + r % (width - 3)
        batch[r, :2] = [BOS, ROW]
        batch[r, 2:length] = rng.integers(6, vocabulary, size=length - 2)
    return batch


def test_opacus_per_row_gradients_of_gpt2_are_exact():
    """GradSampleModule over a GPT-2 (Conv1D via opacus's functorch fallback, tied embeddings,
    padded rows) against one backward pass per row."""
    from opacus import GradSampleModule

    model, batch = _tiny_gpt2(), _sequences()
    reference = copy.deepcopy(model)
    private = GradSampleModule(model, batch_first=True, loss_reduction="sum", strict=False)
    row_losses(private, batch, torch.device("cpu")).sum().backward()
    for r in range(len(batch)):
        reference.zero_grad()
        row_losses(reference, batch[r:r + 1], torch.device("cpu")).sum().backward()
        for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
            assert torch.allclose(p.grad_sample[r], q.grad, atol=1e-5, rtol=1e-4), name
    private.to_standard_module()


def test_a_rows_loss_depends_on_its_own_tokens_only():
    """Per-row losses, not a batch mean: a row's loss (so its clipped gradient) is the same
    whatever else is in the batch."""
    model, batch = _tiny_gpt2(), _sequences()
    together = row_losses(model, batch, torch.device("cpu"))
    alone = torch.cat([row_losses(model, batch[r:r + 1], torch.device("cpu")) for r in range(len(batch))])
    assert torch.allclose(together, alone, atol=1e-5)
    assert IGNORE < 0


def test_units_are_sampled_whole_and_rows_clipped_to_their_share():
    units = np.array([0, 0, 0, 1, 2, 2])
    sampling = UnitSampling.plan(len(units), units, batch_size=16, contribution=8)
    assert sampling.units == 3 and sampling.rate == pytest.approx(2 / 3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        drawn = sampling.draw(rng)
        for unit in range(3):
            members = np.flatnonzero(units == unit)
            assert np.isin(members, drawn).all() or not np.isin(members, drawn).any()
    optimizer = dp_optimizer(_tiny_gpt2(), _options(), sigma=1.5, contribution=8, expected_rows=4,
                             noise=torch.Generator())
    assert optimizer.max_grad_norm == pytest.approx(1.0 / 8)  # a row's clip: max_grad_norm / contribution
    assert optimizer.noise_multiplier * optimizer.max_grad_norm == pytest.approx(1.5)  # noise for a whole unit


def _options():
    from synthtab_db.models.gpt.options import validate

    return validate({"epsilon": 1.0})


@pytest.fixture
def planted():
    con = synthtab_db.connect()
    con.execute("""CREATE TABLE t AS
        SELECT ['alpha', 'beta', 'gamma'][1 + i % 3] AS label, 100 + (i * 7919) % 900 AS amount
        FROM range(3000) r(i)""")
    con.execute(f"INSERT INTO t VALUES ('{UNIQUE}', {EXTREME})")
    yield con
    con.close()


def test_dp_generate_spends_the_requested_epsilon_and_protects_single_records(planted):
    con = planted
    (row,) = con.execute(f"GENERATE SYNTHETIC FROM t ROWS 3000 INTO s USING gpt WITH (epsilon = 4, {SMALL})"
                         ).arrow().to_pylist()
    assert 4 * 0.99 <= row["epsilon"] <= 4.0
    assert 0 < row["delta"] < 1 / 3001
    assert row["noise_multiplier"] > 0 and row["max_grad_norm"] == 1.0
    labels = {r[0] for r in con.execute("SELECT DISTINCT label FROM s").fetchall()}
    assert UNIQUE not in labels and labels <= {"alpha", "beta", "gamma", "_RARE_", None}
    low, high = con.execute("SELECT min(amount), max(amount) FROM s").fetchall()[0]
    assert high < 2048 and low >= 64  # DP bounds around 100..999, never the planted value
    (entry,) = con.execute("SELECT source, mechanism, epsilon FROM synthtab.privacy_ledger").fetchall()
    assert entry[0] == "main.t" and entry[1].startswith("gpt: DP-SGD") and entry[2] == pytest.approx(row["epsilon"])


def test_without_dp_the_same_model_does_learn_the_planted_category(planted):
    """The control: the test above could fail (gpt without epsilon writes the unique label,
    which it keeps once min_count allows it)."""
    con = planted
    con.execute(f"GENERATE SYNTHETIC FROM t ROWS 3000 INTO s USING gpt WITH (min_count = 1, {SMALL})")
    assert con.execute(f"SELECT count(*) FROM s WHERE label = '{UNIQUE}'").fetchall()[0][0] > 0


def test_free_text_under_dp_is_written_from_a_fixed_alphabet():
    """A text column under DP: text comes out (bytes of a fixed alphabet, no BPE learned from the
    rows), and a planted unique title is never reproduced."""
    con = synthtab_db.connect()
    con.execute("""CREATE TABLE titles AS
        SELECT ['the', 'a', 'my', 'blue', 'red'][1 + i % 5] || ' ' || ['song', 'road', 'night', 'heart'][1 + i % 4]
               || ' ' || (i % 97)::VARCHAR AS title, ['rock', 'jazz'][1 + i % 2] AS genre
        FROM range(1500) r(i)""")
    con.execute(f"INSERT INTO titles VALUES ('{PLANTED_TITLE}', 'rock')")
    con.execute(f"TRAIN SYNTHESIZER m ON titles USING gpt WITH (epsilon = 8, max_text_tokens = 16, epochs = 6, "
                f"n_embd = 32, learning_rate = 0.01, {TINY})")
    con.execute("GENERATE SYNTHETIC FROM SYNTHESIZER m ROWS 400 INTO s")
    titles = [r[0] for r in con.execute("SELECT title FROM s").fetchall()]
    assert PLANTED_TITLE not in titles
    # DP noise comes from a secret stream, so the count varies run to run (96-117 of 400 seen);
    # a broken text path gives none
    assert sum(1 for t in titles if t and " " in t) > 50 and len(set(titles)) > 20
    blob = con.execute("SELECT weights FROM synthtab.synthesizers WHERE name = 'm'").fetchall()[0][0]
    model = GptSynthesizer.from_bytes(blob)
    assert model.codec.text == [0] and model.codec.tokenizer.size == 256  # the byte alphabet, no merges
    assert not model.guard.hashes.size  # no copy guard: the planted title is kept out by DP alone
    con.close()


def test_retrieval_stays_refused_with_epsilon():
    con = synthtab_db.connect()
    con.execute("CREATE TABLE t AS SELECT range AS x FROM range(50)")
    with pytest.raises(SynthError, match="retrieve puts real rows"):
        con.execute("GENERATE SYNTHETIC FROM t USING gpt WITH (epsilon = 1, retrieve = 2)")
    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'synth_t'").fetchall()[0][0]


def test_a_child_table_protects_its_parents():
    """400 orders of one customer share a channel: bounded to max_rows_per_parent rows and
    parent-level noise, it stays out of the output (counts released from the same epsilon);
    the same rows without their FK (each row its own unit) release it."""
    from test_privacy_units import _shop

    con = synthtab_db.connect()
    _shop(con.duckdb, 400)
    sql = f"GENERATE SYNTHETIC FROM orders USING gpt WITH (epsilon = 4, {SMALL})"
    (row,) = con.execute(sql).arrow().to_pylist()
    assert 4 * 0.99 <= row["epsilon"] <= 4.0
    assert con.duckdb.execute("SELECT count(*) FROM synth_orders WHERE channel = 'secret-channel'").fetchall()[0][0] == 0
    con.duckdb.execute("CREATE TABLE flat AS SELECT * FROM orders")
    con.execute(f"GENERATE SYNTHETIC FROM flat USING gpt WITH (epsilon = 4, {SMALL})")
    assert con.duckdb.execute("SELECT count(*) FROM synth_flat WHERE channel = 'secret-channel'").fetchall()[0][0] > 0
    con.close()


def test_a_local_checkpoint_is_fine_tuned_with_dp_sgd(planted, tmp_path):
    """pretrained + epsilon: the checkpoint is public, the table's vocabulary is the DP release's,
    and fine-tuning is DP-SGD like training from scratch."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from synthtab_db.catalog import read_schema
    from synthtab_db.models import get_model

    GPT2LMHeadModel(GPT2Config(vocab_size=100, n_positions=32, n_embd=16, n_layer=1, n_head=2)).save_pretrained(
        tmp_path / "ckpt")
    data, table = planted.duckdb.sql("SELECT * FROM t").to_arrow_table(), read_schema(planted.duckdb).table("t")
    model = get_model("gpt")(epsilon=2.0, seed=1, epochs=1, device="cpu", pretrained=str(tmp_path / "ckpt"))
    model.fit(data, table)
    spent, _ = model.privacy.spent()
    assert 2.0 * 0.99 <= spent <= 2.0 and model.network.config.n_embd == 16
    out = model.sample(500, seed=1)
    assert UNIQUE not in set(out.column("label").to_pylist()) and max(out.column("amount").to_pylist()) < 2048


def test_an_empty_poisson_batch_is_a_noise_only_step():
    """Poisson sampling can draw no row: the step still runs (noise alone), as the accountant counts it."""
    from opacus import GradSampleModule

    from synthtab_db.models.gpt.private_training import dp_step

    model = _tiny_gpt2()
    before = [p.detach().clone() for p in model.parameters()]
    private = GradSampleModule(model, batch_first=True, loss_reduction="sum", strict=False)
    optimizer = dp_optimizer(model, _options(), sigma=1.0, contribution=1, expected_rows=4,
                             noise=torch.Generator().manual_seed(0))
    assert dp_step(private, optimizer, _sequences()[:0], torch.device("cpu")) == 0.0
    private.to_standard_module()
    assert all(not torch.equal(p, q) for p, q in zip(model.parameters(), before))
