"""Training of the ResAD heads on cached backbone features (resad.md, "Training").

Per step: a category; K random good images of it as references (redrawn every step); a batch of
queries, half good and half anomalous (real anomalies with masks where the data has them,
synthetic ones otherwise); residuals by the same NN search as inference; OCC loss on the
constraintor; maximum likelihood + BG-SPP on a random chunk of min(8192, positions) positions per
level, so every level trains. The checkpoint with the best held-out image AUROC is kept.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from tqdm import tqdm

from engine.backbone import BACKBONE_ID
from engine.flows import positional_encoding
from engine.heads import HeadConfig, ResADHeads
from engine.nn_search import LevelPool, search_levels
from engine.references import ReferenceSet
from engine.residual_scale import leave_one_out_norms, residual_scale
from engine.training.feature_bank import CategoryBank, Item
from engine.training.losses import flow_losses, occ_loss


@dataclass
class TrainConfig:
    steps: int = 1500
    batch: int = 8
    shots: int = 4
    lr: float = 5e-4
    flow_lr: float | None = None  # the flows' own learning rate (None: lr); the constraintors always use lr
    weight_decay: float = 1e-5
    chunk: int = 8192
    tau: float = 0.1
    eval_every: int = 250
    seed: int = 0
    input_size: int = 256
    cond_dim: int = 64
    n_blocks: int = 8
    residual_norm: str = "none"  # "reference": see engine/residual_scale.py
    # categories kept out of training and used alone for checkpoint selection (empty: held-out
    # test images of the training categories, as before)
    select_on: tuple[str, ...] = ()


def _pools(items: list[Item]) -> list[LevelPool]:
    return [LevelPool.from_maps([it.feats[l].float() for it in items]) for l in range(len(items[0].feats))]


def _group(items: list[Item]) -> list[list[Item]]:
    groups: dict[tuple, list[Item]] = {}
    for it in items:
        groups.setdefault(it.grid, []).append(it)
    return list(groups.values())


class Trainer:
    def __init__(self, banks: list[CategoryBank], config: TrainConfig, progress: bool = True):
        self.cfg = config
        self.progress = progress
        names = {b.name for b in banks}
        unknown = [n for n in config.select_on if n not in names]
        if unknown:
            raise ValueError(f"select_on: no category named {unknown}; the training data has {sorted(names)}")
        self.select_banks = [b for b in banks if b.name in config.select_on]
        self.banks = [b for b in banks if len(b.good) >= config.shots + 1 and b.name not in config.select_on]
        if not self.banks:
            raise ValueError(f"no category has the {config.shots + 1} good images a training step needs")
        for b in self.select_banks:
            anomalous = len(b.real) + len(b.synthetic) + len(b.heldout_anomalous)
            if len(b.good) < config.shots + 1 or not anomalous:
                raise ValueError(f"select_on {b.name!r}: needs {config.shots + 1} good images and some anomalous ones, "
                                 f"has {len(b.good)} good and {anomalous} anomalous")
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.heads = ResADHeads(HeadConfig(cond_dim=config.cond_dim, n_blocks=config.n_blocks, seed=config.seed,
                                           residual_norm=config.residual_norm))
        groups = [{"params": self.heads.constraintors.parameters()},
                  {"params": self.heads.flows.parameters(), "lr": config.lr if config.flow_lr is None else config.flow_lr}]
        self.opt = torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay)
        milestones = [int(config.steps * 0.7), int(config.steps * 0.9)]  # the paper's x0.1 at 70 % and 90 %
        self.sched = torch.optim.lr_scheduler.MultiStepLR(self.opt, milestones, gamma=0.1)
        self.b_n = [None] * len(self.heads.flows)
        self.history: list[dict] = []

    # -- one step ---------------------------------------------------------------------------------
    def _draw(self) -> tuple[list[Item], list[Item]]:
        bank = self.banks[int(self.rng.integers(len(self.banks)))]
        order = self.rng.permutation(len(bank.good))
        refs = [bank.good[i] for i in order[: self.cfg.shots]]
        rest = [bank.good[i] for i in order[self.cfg.shots :]]
        n_good = self.cfg.batch // 2
        queries = [rest[i] for i in self.rng.choice(len(rest), min(n_good, len(rest)), replace=False)]
        for _ in range(self.cfg.batch - len(queries)):
            use_real = bank.real and (not bank.synthetic or self.rng.random() < 0.5)
            pool = bank.real if use_real else bank.synthetic
            queries.append(pool[int(self.rng.integers(len(pool)))])
        return refs, queries

    def step(self, draw: tuple[list[Item], list[Item]] | None = None) -> dict:
        """One optimiser step; `draw` fixes (references, queries), else they are drawn at random."""
        refs, queries = draw if draw is not None else self._draw()
        pools = _pools(refs)
        n_levels = len(pools)
        scale = None
        if self.cfg.residual_norm == "reference":  # the references' own scale, as at inference
            with torch.no_grad():
                shots = ReferenceSet([[f.float() for f in it.feats] for it in refs], self.cfg.input_size, BACKBONE_ID)
                scale = residual_scale(leave_one_out_norms(shots))
        occ = torch.zeros(())
        flow_in = [[] for _ in range(n_levels)]
        for group in _group(queries):
            feats = [torch.stack([it.feats[l].float() for it in group]) for l in range(n_levels)]
            with torch.no_grad():
                residuals = search_levels(feats, pools)
            for l, r in enumerate(residuals):
                if scale is not None:
                    r = r / scale[l]
                b, c, h, w = r.shape
                mask = torch.stack([it.masks[l] if it.masks else torch.zeros(h, w) for it in group])
                constrained = self.heads.constrain(l, r)
                occ = occ + occ_loss(constrained, r, mask) / n_levels
                x = constrained.detach().permute(0, 2, 3, 1).reshape(-1, c)  # appendix E: detached
                pe = positional_encoding(h, w, self.heads.config.cond_dim).repeat(b, 1)
                flow_in[l].append((x, pe, mask.reshape(-1)))
        ml_total = torch.zeros(())
        spp_total = torch.zeros(())
        for l in range(n_levels):
            x = torch.cat([t[0] for t in flow_in[l]])
            pe = torch.cat([t[1] for t in flow_in[l]])
            mask = torch.cat([t[2] for t in flow_in[l]])
            idx = self._chunk_indices(mask)
            flow = self.heads.flows[l]
            logp = flow.log_prob(x[idx], flow.cond_biases(pe[idx]))
            normal = logp.detach()[mask[idx] < 0.5]
            if normal.numel():
                q = float(torch.quantile(normal, 0.05))
                self.b_n[l] = q if self.b_n[l] is None else 0.9 * self.b_n[l] + 0.1 * q
            ml, spp = flow_losses(logp, mask[idx], self.b_n[l] if self.b_n[l] is not None else 0.0, self.cfg.tau)
            ml_total = ml_total + ml / n_levels
            spp_total = spp_total + spp / n_levels
        loss = occ + ml_total + spp_total
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.heads.parameters(), 5.0)
        self.opt.step()
        self.sched.step()
        return {"loss": loss.item(), "occ": occ.item(), "ml": ml_total.item(), "spp": spp_total.item()}

    def _chunk_indices(self, mask: torch.Tensor) -> torch.Tensor:
        """min(chunk, positions) positions; anomalous ones are rare, so all of them (up to half the
        chunk) are kept and the rest is drawn from the normal ones."""
        n = mask.numel()
        size = min(self.cfg.chunk, n)
        anomalous = torch.nonzero(mask >= 0.5).flatten()
        normal = torch.nonzero(mask < 0.5).flatten()
        gen = torch.Generator().manual_seed(int(self.rng.integers(1 << 31)))
        a = anomalous[torch.randperm(anomalous.numel(), generator=gen)[: size // 2]]
        rest = size - a.numel()
        nrm = normal[torch.randperm(normal.numel(), generator=gen)[:rest]]
        return torch.cat([a, nrm])

    # -- held-out selection -----------------------------------------------------------------------
    def evaluate(self, detector) -> dict:
        """Image AUROC (resad and knn) for checkpoint selection, K references from each category's
        good images: on the held-out test images of the training categories, or, with select_on,
        on the categories kept out of training (every good image not drawn as a reference, and
        every anomalous one, real or synthetic)."""
        self.heads.eval()
        detector.heads = self.heads
        detector.weights_id = f"training-{len(self.history)}"
        rng = np.random.default_rng(self.cfg.seed + 1000)
        per_cat = {}
        with torch.inference_mode():
            for bank in self.select_banks or self.banks:
                if self.select_banks:
                    ref_idx = rng.choice(len(bank.good), self.cfg.shots, replace=False)
                    drawn = set(ref_idx.tolist())
                    good = [it for i, it in enumerate(bank.good) if i not in drawn] + bank.heldout_good
                    anomalous = bank.real + bank.synthetic + bank.heldout_anomalous
                else:
                    if not bank.heldout_good or not bank.heldout_anomalous:
                        continue
                    ref_idx = rng.choice(len(bank.good), self.cfg.shots, replace=False)
                    good, anomalous = bank.heldout_good, bank.heldout_anomalous
                refs = ReferenceSet([[f.float() for f in bank.good[i].feats] for i in ref_idx], self.cfg.input_size,
                                    BACKBONE_ID)
                scores = detector.score_features([[f.float() for f in it.feats] for it in good + anomalous], refs,
                                                 ("resad", "knn"))
                labels = [0] * len(good) + [1] * len(anomalous)
                per_cat[bank.name] = {m: float(roc_auc_score(labels, s)) for m, s in scores.items()}
        self.heads.clear_caches()
        self.heads.train()
        if not per_cat:
            return {}
        return {m: float(np.mean([v[m] for v in per_cat.values()])) for m in ("resad", "knn")} | {"per_category": per_cat}

    def fit(self, detector=None, on_checkpoint=None) -> tuple[ResADHeads, dict]:
        """on_checkpoint(step, heads, metrics): called at every held-out check (to keep checkpoints)."""
        self.heads.train()
        best_state, best_metric, best_step = copy.deepcopy(self.heads.state_dict()), -1.0, 0
        bar = tqdm(range(1, self.cfg.steps + 1), desc="training", disable=not self.progress)
        started = time.time()
        ema = None
        for step in bar:
            losses = self.step()
            ema = losses if ema is None else {k: 0.95 * ema[k] + 0.05 * v for k, v in losses.items()}
            bar.set_postfix({k: f"{v:.3f}" for k, v in ema.items()})
            if detector is not None and (step % self.cfg.eval_every == 0 or step == self.cfg.steps):
                metrics = self.evaluate(detector)
                self.history.append({"step": step, **{k: v for k, v in metrics.items() if k != "per_category"}, **ema})
                tqdm.write(f"step {step}: held-out image AUROC {metrics.get('resad', float('nan')):.3f} "
                           f"(knn {metrics.get('knn', float('nan')):.3f})")
                if on_checkpoint is not None:
                    on_checkpoint(step, self.heads, self.history[-1])
                if metrics and metrics["resad"] > best_metric:
                    best_metric, best_step = metrics["resad"], step
                    best_state = copy.deepcopy(self.heads.state_dict())
        if best_metric < 0:  # nothing held out: keep the last state
            best_state, best_step = self.heads.state_dict(), self.cfg.steps
        self.heads.load_state_dict(best_state)
        self.heads.eval()
        summary = {
            "config": asdict(self.cfg),
            "best_step": best_step,
            "heldout_image_auroc_resad": best_metric if best_metric >= 0 else None,
            "history": self.history,
            "train_seconds": round(time.time() - started, 1),
            "categories": [b.name for b in self.banks],
            "selected_on": ("no selection: 0 steps, the seeded start" if not self.cfg.steps else
                            [b.name for b in self.select_banks] or "held-out test images of the training categories"),
        }
        return self.heads, summary
