"""MMKD: per-sample teacher weights from a meta-weight network trained by a meta step (Zhang, Chen, Wang, ICME 2023).

"Adaptive Multi-Teacher Knowledge Distillation with Meta-Learning" (code: github.com/Rorozhl/MMKD) maps each
sample's teacher outputs to per-sample teacher weights with a small network (``LogitsWeight``: ``Linear(n, n /
factor)``, ReLU, ``Linear(n / factor, M)``, softmax, with ``n`` the teachers' and the student's logits), and
trains it by a bilevel step: every ``meta_freq`` iterations the student takes virtual steps on the weighted KD
loss, and the task loss of the virtual student on a quiz batch is back-propagated through those steps into the
network (Adam, lr 1e-3, weight decay 1e-4); the student is then rolled back.

Here, the same network and the same meta objective, task-agnostic and to first order in the virtual step
(:mod:`~mtkd_rl.weighting.meta_gradient`):

- **Input** (per sample, detached): the teachers' output summaries ``z_m`` (logits for classification, the mean
  class probabilities of a segmented image, per-class maximum scores of a detected one), and, standing for the
  student's logits, which no adapter reduces to a per-sample vector, its distance to each teacher: the logit KD
  ``KL_m`` (``[M]``). The feature weights come from a second network of the same shape on the teachers'
  embeddings ``e_m`` and the student-teacher feature cosine (``feature_weights='meta'``), or are the logit weights
  (``'logit'``).
- **Meta step.** Every ``meta_interval`` iterations (``WeightingPhase.meta_step``) the distiller measures
  ``A_im = <grad_theta c_im, grad_theta L_task>`` over the student's trainable parameters (one double backward),
  for the logit and the feature terms, and adds it to the rollout; the learner's step minimises
  ``-virtual_lr * mean_i sum_m (w_im(phi) A_im + v_im(phi) F_im)``, which is the first-order change of the task
  loss after the virtual step ``theta - virtual_lr * grad_theta L_kd`` (exactly its gradient in ``phi``), and
  recomputes ``w(phi)`` from the stored input. Nothing of the student is rolled back, because nothing moved.
- **Quiz batch.** The current batch's task loss, as the authors' default (their ``--hard_buffer`` is off by
  default): a held-out batch would need the distiller to keep and re-run old inputs and data samples of any
  toolbox, and their hard buffer chooses samples by ``argmax != label``, a classification rule.

Deviations from the authors' code, and why: one virtual step to first order instead of two KD steps and one
task step unrolled through SGD with momentum and weight decay (the exact unroll needs the student's optimizer
inside the distiller and ``3`` extra forward-backward passes with a second-order graph; the first-order
meta-gradient needs one double backward); the student's summary replaced by ``KL_m``; the feature network reads
the teachers' embeddings instead of ``[B, B]`` batch-similarity matrices (whose size is the batch size, so any
last smaller batch, and every detection or segmentation batch of another size, could not be weighted); the
feature weights' meta-gradient comes from the same step as the logit weights' (the authors train both nets on the
same quiz loss too).
"""
from typing import Dict, Sequence

import torch
import torch.nn as nn

from mtkd_rl.options import check_choice, check_int, check_number
from mtkd_rl.registry import TEACHER_WEIGHTINGS
from .base import DistillationTerms, TeacherWeighting, TeacherWeights, WeightingPhase
from .meta_gradient import MetaAlignment

FEATURE_WEIGHTS = ('meta', 'logit')
#: The rollout keys of the meta-weight networks' inputs.
LOGIT_INPUT, FEATURE_INPUT = 'logit_input', 'feature_input'


class MetaWeightNet(nn.Module):
    """The authors' ``LogitsWeight``: ``softmax(Linear(ReLU(Linear(x))))`` over teachers.

    Args:
        in_dim: Size of one sample's input.
        num_teachers: Number of teachers M.
        hidden_factor: The hidden width is ``max(1, in_dim // hidden_factor)`` (the authors' ``factor``, 2).
    """

    def __init__(self, in_dim: int, num_teachers: int, hidden_factor: int = 2) -> None:
        super().__init__()
        hidden = max(1, in_dim // hidden_factor)
        self.layer = nn.Linear(in_dim, hidden)
        self.out = nn.Linear(hidden, num_teachers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Weights ``[B, M]`` (each row on the simplex) for inputs ``[B, in_dim]``."""
        return torch.softmax(self.out(torch.relu(self.layer(x))), dim=-1)


@TEACHER_WEIGHTINGS.register_module(name=['MMKD', 'MMKDWeighting'])
class MMKDWeighting(TeacherWeighting):
    """MMKD teacher weighting: a meta-weight network trained by a first-order meta step (module docstring).

    Args:
        num_teachers: Number of teachers M.
        embedding_dims: Per teacher, the embedding size d_m (the feature network's input).
        summary_dims: Per teacher, the output-summary size C_m (the logit network's input).
        hidden_factor: The networks' hidden width is their input size divided by this (authors: 2).
        meta_interval: Take a meta step on every this many iterations (authors' ``meta_freq``: 5). Each costs
            about three backward passes through the student.
        virtual_lr: The virtual step's learning rate ``eta`` (authors: the student's, 0.05 on CIFAR-100); it
            scales the meta-gradient, which Adam (the default optimizer) mostly normalises away.
        feature_weights: ``'meta'``: a second network on the teachers' embeddings and the feature cosine gives
            the feature weights; ``'logit'``: the feature weights are the logit weights (no embeddings computed).

    While the learner's warm-up holds the networks back the weights are ``1 / M`` (the authors' ``meta_warmup``
    is 0: give the hook ``warmup_epochs=0`` to act from the start); meta steps are still taken on the warm-up's
    batches (``learn_during_warmup``), since the virtual step does not depend on the weights actually used.
    """
    learnable = True
    required_terms = frozenset({'summaries', 'embeddings', 'cosine'})
    default_optimizer = dict(type='Adam', lr=1e-3, weight_decay=1e-4)

    def __init__(self,
                 num_teachers: int,
                 embedding_dims: Sequence[int],
                 summary_dims: Sequence[int],
                 hidden_factor: int = 2,
                 meta_interval: int = 5,
                 virtual_lr: float = 0.05,
                 feature_weights: str = 'meta') -> None:
        super().__init__(num_teachers, embedding_dims, summary_dims)
        key = 'model.weighting.{}'.format
        hidden_factor = check_int(hidden_factor, key('hidden_factor'), minimum=1)
        self.meta_interval = check_int(meta_interval, key('meta_interval'), minimum=1)
        self.virtual_lr = check_number(virtual_lr, key('virtual_lr'), minimum=0, min_inclusive=False)
        self.feature_weights = check_choice(feature_weights, FEATURE_WEIGHTS, key('feature_weights'))
        if len(self.summary_dims) != num_teachers or (feature_weights == 'meta' and
                                                      len(self.embedding_dims) != num_teachers):
            raise ValueError('model.weighting MMKD needs one summary size (and, with feature_weights=\'meta\', one '
                             'embedding size) per teacher; the distiller fills them in from the teacher pool')
        self.logit_net = MetaWeightNet(sum(self.summary_dims) + num_teachers, num_teachers, hidden_factor)
        if self.feature_weights == 'meta':
            self.feature_net = MetaWeightNet(sum(self.embedding_dims) + num_teachers, num_teachers, hidden_factor)
        else:
            self.required_terms = frozenset({'summaries'})

    def needed_terms(self, phase: WeightingPhase) -> frozenset:
        """The networks' inputs where they act or a meta step is taken, plus the student's loss of a batch the
        learner stores (its reward's, unused by MMKD); nothing for the warm-up weights of another batch."""
        meta = phase.collecting and phase.meta_step
        if not (phase.acting or meta):
            return frozenset()
        return self.required_terms | ({'student_loss'} if meta else frozenset())

    def logit_input(self, terms: DistillationTerms) -> torch.Tensor:
        """``[z_1, ..., z_M, KL_1..M]`` per sample, ``[B, sum_m C_m + M]``, detached float32."""
        with torch.no_grad():
            return torch.cat([s.float() for s in terms.summaries] + [terms.logit_kd.float()], dim=1)

    def feature_input(self, terms: DistillationTerms) -> torch.Tensor:
        """``[e_1, ..., e_M, cos_1..M]`` per sample (cosine 0 without feature KD), detached float32."""
        with torch.no_grad():
            cos = terms.cosine if terms.cosine is not None else torch.zeros_like(terms.logit_kd)
            return torch.cat([e.float() for e in terms.embeddings] + [cos.float()], dim=1)

    def _weights(self, logit_input: torch.Tensor, feature_input=None):
        w_logit = self.logit_net(logit_input)
        w_feature = self.feature_net(feature_input) if self.feature_weights == 'meta' else w_logit
        return w_logit, w_feature

    def forward(self, terms: DistillationTerms, phase: WeightingPhase) -> TeacherWeights:
        """The networks' weights (1/M where the phase does not act), detached; on a meta-step batch that the
        phase collects, the rollout holds the networks' inputs (the distiller adds the alignment)."""
        meta = phase.collecting and phase.meta_step
        rollout = None
        if phase.acting or meta:
            with torch.no_grad():
                rollout = {LOGIT_INPUT: self.logit_input(terms)}
                if self.feature_weights == 'meta':
                    rollout[FEATURE_INPUT] = self.feature_input(terms)
        if phase.acting:
            with torch.no_grad():
                w_logit, w_feature = self._weights(rollout[LOGIT_INPUT], rollout.get(FEATURE_INPUT))
        else:
            w_logit = w_feature = torch.full_like(terms.logit_kd, 1.0 / self.num_teachers).detach()
        return TeacherWeights(w_logit, w_feature, rollout if meta else None)

    def update_loss(self, transition: Dict[str, torch.Tensor]) -> torch.Tensor:
        """``-virtual_lr * mean_i sum_m (w_im A_im + v_im F_im)``: the first-order change of the task loss after
        the virtual step, with the weights recomputed from the stored input; 0 for a batch without alignment."""
        alignment = MetaAlignment.from_transition(transition)
        w_logit, w_feature = self._weights(transition[LOGIT_INPUT], transition.get(FEATURE_INPUT))
        if alignment is None:
            return w_logit.sum() * 0.0
        change = (w_logit * alignment.logit).sum(1).mean()
        if alignment.feature is not None:
            change = change + (w_feature * alignment.feature).sum(1).mean()
        return -self.virtual_lr * change
