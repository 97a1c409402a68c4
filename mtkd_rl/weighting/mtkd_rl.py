"""MTKD-RL: an agent that reads teacher performance and teacher-student gaps and weights the teachers."""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mtkd_rl.options import OptionError, check_bool, check_choice, check_int, check_number
from mtkd_rl.registry import TEACHER_WEIGHTINGS
from .base import DistillationTerms, TeacherWeighting, TeacherWeights, WeightingPhase, confidence_prior
from .correctness import correct_teachers_kl_prior, gate_weights, teacher_correctness
from .gaussian_policy import BoundedLogStd, advantage, check_std_options, natural_policy_gradient_loss
from .policy import TeacherPolicy
from .teacher_credit import CreditAverage, credit_loss, credit_targets

FUSIONS = ('static', 'dynamic')
UPDATES = ('surrogate', 'policy_gradient', 'credit')
#: ``'joint'``: one credit per teacher for both heads; ``'separate'``: the logit and the feature KD credited apart;
#: ``'logit'``: the credit of the logit KD alone, for both heads.
CREDIT_HEADS = ('joint', 'separate', 'logit')
WARMUP_WEIGHTS = ('ones', 'uniform', 'credit')
KL_PRIORS = ('reference', 'correct_teachers')
#: What the fused weights are made of: the reference mixes the agent with the priors; the ablation arms keep one.
COMPONENTS = ('agent+priors', 'priors', 'agent')


@TEACHER_WEIGHTINGS.register_module(name=['MTKD-RL', 'MTKDRLWeighting'])
class MTKDRLWeighting(TeacherWeighting):
    """MTKD-RL teacher weighting (method.md sections 3-7).

    State per sample: for each teacher m in order, ``[cos, KL, CE, e_m, z_m]`` (detached). The policy's two
    softmax heads are fused with parameter-free priors (confidence from CE, KL gap, cosine gap):
    ``w = (a + w_CE + w_KL) / 3`` for logits and ``(a + w_CE + w_cos) / 3`` for features ("static"), or with
    learnable softmax-normalised mixing coefficients ("dynamic").

    Args:
        num_teachers: Number of teachers M.
        embedding_dims: Per teacher, the embedding size d_m.
        summary_dims: Per teacher, the output-summary size C_m.
        hidden_dim: Width of the policy's hidden layer.
        fusion: ``'static'`` (reference) or ``'dynamic'``.
        update: ``'surrogate'`` (reference: reward-weighted log-likelihood of the deterministic weights) or
            ``'policy_gradient'`` (REINFORCE with a Gaussian policy on the head scores, the batch-mean reward as
            baseline and a Fisher-preconditioned step).
        init_std: Initial standard deviation of the Gaussian policy (``update='policy_gradient'``).
        std_range: ``(min_std, max_std)``: the Gaussian's standard deviation is squashed into this range
            (``update='policy_gradient'``).
        warmup_weights: Weights while the agent is held back (a phase that does not act): ``'ones'``
            (reference), ``'uniform'`` (1/M) or, with ``update='credit'``, ``'credit'``: the credit's target
            ``softmax(average credit / credit_temperature)`` of each head from the first measurement on (1/M
            before it), so the credit acts from its first measurement while the agent learns.
        kl_prior: The logit-side gap prior: ``'reference'`` (``softmax_m(KL)``, which favours the teacher
            furthest from the student, a confidently wrong one too) or ``'correct_teachers'`` (the same,
            restricted to the teachers that are right on the sample; see :func:`correct_teachers_kl_prior`).
        correctness_gate: Whether the fused weights of both heads (and the warm-up weights) are moved, per sample,
            from the teachers that are wrong on it to those that are right (:func:`gate_weights`; a sample no
            teacher gets right keeps its weights). Off in the reference. Use it, with
            ``warmup_weights='uniform'``, for pools that may hold a poor or confidently wrong teacher: such a
            teacher then teaches only the samples it gets right.
        components: The ablation arms. ``'agent+priors'`` (reference): the fusion above. ``'priors'``: no agent,
            ``w_logit = (w_CE + w_KL) / 2`` and ``w_feature = (w_CE + w_cos) / 2``; nothing is learnt (no state is
            built, no batch stored, the agent never updated) but the warm-up is the reference's. ``'agent'``: the
            agent's softmax heads alone, ``w_logit = a_logit`` and ``w_feature = a_feature``, learnt by ``update``.
            The arms take ``fusion='static'``; ``correctness_gate`` applies to every arm, ``kl_prior`` where the
            KL prior is used.
        credit_interval: ``update='credit'``: measure the teachers' credit on every this many iterations (each
            measurement costs M + 1 extra backward passes through the student).
        credit_momentum: ``update='credit'``: the moving average of the credit over measurements.
        credit_temperature: ``update='credit'``: how sharply the target prefers the teachers with most credit
            (``softmax(credit / temperature)``).
        credit_heads: ``update='credit'``: what is credited, for which head. ``'joint'``: one credit per teacher,
            its logit and feature KD together, for both heads. ``'separate'``: each head's weights learn from the
            credit of that head's KD alone (``2M + 1`` backward passes a measurement instead of ``M + 1``).
            ``'logit'``: the credit of each teacher's logit KD alone, for both heads: a teacher is trusted for its
            features as far as its predictions help (``M + 1`` backward passes). A teacher without a logit KD term
            (a feature-only teacher) then has a credit of 0.

    ``update='credit'`` learns from what each teacher's distillation does to the student rather than from the
    reward: every ``credit_interval`` iterations the distiller measures, per teacher, the cosine between the
    gradient of its distillation and the gradient of the student's task loss over all the student's parameters
    (:mod:`~mtkd_rl.weighting.teacher_credit`); the agent's loss is the cross-entropy of the fused weights of
    each sample against ``softmax(average credit / credit_temperature)``, so the teachers whose distillation
    helps the task get the weight and a teacher pulling against the labels loses it. It learns from the
    warm-up's batches like the surrogate update.
    """
    learnable = True
    required_terms = frozenset({'embeddings', 'summaries', 'cosine'})

    def __init__(self,
                 num_teachers: int,
                 embedding_dims: Sequence[int],
                 summary_dims: Sequence[int],
                 hidden_dim: int = 128,
                 fusion: str = 'static',
                 update: str = 'surrogate',
                 init_std: float = 0.1,
                 std_range: Tuple[float, float] = (0.01, 1.0),
                 warmup_weights: str = 'ones',
                 kl_prior: str = 'reference',
                 correctness_gate: bool = False,
                 components: str = 'agent+priors',
                 credit_interval: int = 10,
                 credit_momentum: float = 0.9,
                 credit_temperature: float = 0.1,
                 credit_heads: str = 'joint') -> None:
        super().__init__(num_teachers, embedding_dims, summary_dims)
        key = 'model.weighting.{}'.format
        hidden_dim = check_int(hidden_dim, key('hidden_dim'), minimum=1)
        kl_prior = check_choice(kl_prior, KL_PRIORS, key('kl_prior'))
        fusion = check_choice(fusion, FUSIONS, key('fusion'))
        update = check_choice(update, UPDATES, key('update'))
        warmup_weights = check_choice(warmup_weights, WARMUP_WEIGHTS, key('warmup_weights'))
        correctness_gate = check_bool(correctness_gate, key('correctness_gate'))
        components = check_choice(components, COMPONENTS, key('components'))
        credit_interval = check_int(credit_interval, key('credit_interval'), minimum=1)
        credit_momentum = check_number(credit_momentum, key('credit_momentum'), minimum=0)
        if credit_momentum >= 1:
            raise OptionError(key('credit_momentum'), f'must be below 1 (the share of the past in the average), '
                              f'got {credit_momentum}')
        credit_heads = check_choice(credit_heads, CREDIT_HEADS, key('credit_heads'))
        credit_temperature = check_number(credit_temperature, key('credit_temperature'), minimum=0)
        if credit_temperature <= 0:
            raise OptionError(key('credit_temperature'), f'must be above 0, got {credit_temperature}')
        if components != 'agent+priors' and fusion == 'dynamic':
            raise ValueError(f"model.weighting: fusion='dynamic' mixes the agent and both priors; "
                             f"components='{components}' takes fusion='static'")
        if warmup_weights == 'credit' and update != 'credit':
            raise OptionError(key('warmup_weights'), f"'credit' takes the credit's target, which only "
                              f"update='credit' measures; got update='{update}'")
        if components == 'priors' and update in ('policy_gradient', 'credit'):
            raise ValueError(f"model.weighting: components='priors' uses no agent, so there is no policy to "
                             f"learn; remove update='{update}'")
        if fusion == 'dynamic' and update == 'policy_gradient':
            raise ValueError("model.weighting: fusion='dynamic' is learnt by the surrogate update only; set "
                             "update='surrogate' or fusion='static'")
        if update == 'policy_gradient':
            check_std_options(init_std, std_range)
        if len(self.embedding_dims) != num_teachers or len(self.summary_dims) != num_teachers:
            raise ValueError('MTKD-RL needs one embedding size and one summary size per teacher')
        self.fusion = fusion
        self.update = update
        self.warmup_weights = warmup_weights
        self.kl_prior = kl_prior
        self.correctness_gate = correctness_gate
        self.components = components
        self.state_dim = sum(d + c + 3 for d, c in zip(self.embedding_dims, self.summary_dims))
        self.policy = TeacherPolicy(self.state_dim, num_teachers, hidden_dim)
        if fusion == 'dynamic':
            self.logit_mix = nn.Parameter(torch.ones(3))
            self.feature_mix = nn.Parameter(torch.ones(3))
        if update == 'policy_gradient':
            self.spread = BoundedLogStd(2, num_teachers, init_std, std_range)
        if update == 'credit':
            self.credit = CreditAverage(num_teachers, credit_momentum, heads=2 if credit_heads == 'separate' else 1)
            self.credit_heads = credit_heads
            self.credit_interval = credit_interval
            self.credit_temperature = float(credit_temperature)

    @property
    def log_std(self) -> torch.Tensor:
        """The Gaussian policy's log standard deviations, ``[2, M]`` (logit head, feature head)."""
        return self.spread()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Agents saved before the spread was bounded hold an unbounded 'log_std': squash it into the range.
        old = state_dict.pop(prefix + 'log_std', None)
        if old is not None and self.update == 'policy_gradient':
            state_dict[prefix + 'spread.raw'] = self.spread.raw_from_log_std(old)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def learns_from_fixed_weights(self) -> bool:
        """Whether batches weighted without the agent (warm-up) can train it.

        The surrogate and credit updates recompute the agent's weights from the stored state, so they can; the
        policy gradient needs the agent's own sampled action, so it cannot.
        """
        return self.update in ('surrogate', 'credit')

    def needed_terms(self, phase: WeightingPhase) -> frozenset:
        """The state's terms, and the reward's student loss where the batch is collected; none for the warm-up
        weights of a batch not learnt from."""
        if self.components == 'priors':  # only the priors' inputs, and nothing while the weights are fixed
            return frozenset({'cosine'}) if phase.acting else frozenset()
        builds_state = phase.acting or (phase.collecting and self.learns_from_fixed_weights)
        return super().needed_terms(phase) if builds_state else frozenset()

    def build_state(self, terms: DistillationTerms) -> torch.Tensor:
        """Concatenate ``[cos, KL, CE, e_m, z_m]`` over teachers into ``[B, D]`` (detached, float32)."""
        kl = terms.logit_kd
        cos = terms.cosine if terms.cosine is not None else torch.zeros_like(kl)
        parts = []
        for m in range(self.num_teachers):
            parts += [cos[:, m:m + 1], kl[:, m:m + 1], terms.teacher_loss[:, m:m + 1],
                      terms.embeddings[m], terms.summaries[m]]
        with torch.no_grad():
            # one copy: cat promotes mixed AMP dtypes exactly, then float32 also under AMP
            state = torch.cat(parts, dim=1).float()
        if state.shape[1] != self.state_dim:
            raise RuntimeError(f'MTKD-RL state has {state.shape[1]} values per sample, expected '
                               f'{self.state_dim} (embedding sizes {self.embedding_dims}, summary sizes '
                               f'{self.summary_dims})')
        return state

    def priors(self, ce: torch.Tensor, kl: torch.Tensor, cos: Optional[torch.Tensor],
               accuracy: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The parameter-free priors ``w_CE``, ``w_KL`` and ``w_cos``, each ``[B, M]``."""
        w_cos = torch.softmax(cos, dim=1) if cos is not None else torch.full_like(kl, 1.0 / self.num_teachers)
        if self.kl_prior == 'correct_teachers':
            w_kl = correct_teachers_kl_prior(kl, ce, accuracy)
        else:
            w_kl = torch.softmax(kl, dim=1)
        return confidence_prior(ce), w_kl, w_cos

    def fuse(self, a_logit: torch.Tensor, a_feature: torch.Tensor, w_ce: torch.Tensor, w_kl: torch.Tensor,
             w_cos: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Mix the agent's weights with the priors (``components`` keeps the agent or the priors alone)."""
        if self.components == 'priors':
            return (w_ce + w_kl) / 2.0, (w_ce + w_cos) / 2.0
        if self.components == 'agent':
            return a_logit, a_feature
        if self.fusion == 'static':
            return (a_logit + w_ce + w_kl) / 3.0, (a_feature + w_ce + w_cos) / 3.0
        cl = torch.softmax(self.logit_mix, 0)
        cf = torch.softmax(self.feature_mix, 0)
        return (cl[0] * a_logit + cl[1] * w_ce + cl[2] * w_kl,
                cf[0] * a_feature + cf[1] * w_ce + cf[2] * w_cos)

    def _weights(self, actions, ce, kl, cos, accuracy=None):
        priors = self.priors(ce, kl, cos, accuracy)
        agent = (None, None) if actions is None else (torch.softmax(actions[0], 1), torch.softmax(actions[1], 1))
        w_logit, w_feature = self.fuse(*agent, *priors)
        if self.correctness_gate:
            gate = teacher_correctness(ce, accuracy)
            w_logit, w_feature = gate_weights(w_logit, gate), gate_weights(w_feature, gate)
        return w_logit, w_feature

    @property
    def _reads_accuracy(self) -> bool:
        return self.kl_prior == 'correct_teachers' or self.correctness_gate

    def _rollout(self, terms: DistillationTerms) -> Dict[str, torch.Tensor]:
        """The state and the priors' inputs of a batch: what the update needs besides the action and reward."""
        rollout = dict(state=self.build_state(terms), ce=terms.teacher_loss.detach().float(),
                       kl=terms.logit_kd.detach().float())
        if terms.cosine is not None:
            rollout['cos'] = terms.cosine.detach().float()
        if self._reads_accuracy and terms.teacher_accuracy is not None:
            rollout['accuracy'] = terms.teacher_accuracy.detach().float()
        return rollout

    def forward(self, terms: DistillationTerms, phase: WeightingPhase) -> TeacherWeights:
        """Weights for one batch, and its rollout where the phase collects it.

        Where the phase does not act, the weights are the warm-up's (gated, with ``correctness_gate``); the
        rollout (the state, no policy pass) is returned only where the phase collects and the update can learn
        from fixed weights. Where it acts and collects, ``update='policy_gradient'`` samples its scores.
        """
        if not phase.acting:
            w_logit, w_feature = self._warmup_weights(terms.teacher_loss)
            if self.correctness_gate:
                correct = teacher_correctness(terms.teacher_loss.detach(), terms.teacher_accuracy)
                w_logit, w_feature = gate_weights(w_logit, correct), gate_weights(w_feature, correct)
            rollout = None
            if phase.collecting and self.learns_from_fixed_weights and self.components != 'priors':
                with torch.no_grad():
                    rollout = self._rollout(terms)
            return TeacherWeights(w_logit, w_feature, rollout)
        if self.components == 'priors':  # no agent: no state, no rollout
            with torch.no_grad():
                accuracy = terms.teacher_accuracy.detach().float() if terms.teacher_accuracy is not None else None
                cos = terms.cosine.detach().float() if terms.cosine is not None else None
                w_logit, w_feature = self._weights(None, terms.teacher_loss.detach().float(),
                                                   terms.logit_kd.detach().float(), cos, accuracy)
            return TeacherWeights(w_logit, w_feature)
        with torch.no_grad():
            rollout = self._rollout(terms)
            state, ce, kl, cos = rollout['state'], rollout['ce'], rollout['kl'], rollout.get('cos')
            actions = self.policy(state)
            sampled = self.update == 'policy_gradient' and phase.collecting
            if sampled:
                std = self.log_std.exp()
                actions = (actions[0] + std[0] * torch.randn_like(actions[0]),
                           actions[1] + std[1] * torch.randn_like(actions[1]))
            w_logit, w_feature = self._weights(actions, ce, kl, cos, rollout.get('accuracy'))
        if sampled:
            rollout['action_logit'], rollout['action_feature'] = actions
        return TeacherWeights(w_logit, w_feature, rollout if phase.collecting else None)

    def update_loss(self, transition: Dict[str, torch.Tensor]) -> torch.Tensor:
        """The agent's loss on one stored batch (its state, action and normalised reward ``[B]``)."""
        reward = transition['reward'].unsqueeze(1)
        state, ce, kl = transition['state'], transition['ce'], transition['kl']
        cos = transition.get('cos')
        with_feature = cos is not None  # without feature distillation the feature head is not trained
        if self.update == 'credit':
            return self._credit_loss(transition, with_feature)
        if self.update == 'surrogate':
            w_logit, w_feature = self._weights(self.policy(state), ce, kl, cos, transition.get('accuracy'))
            eps = torch.finfo(w_logit.dtype).tiny
            loss = -(reward * w_logit.clamp_min(eps).log()).mean()
            if with_feature:
                loss = loss - (reward * w_feature.clamp_min(eps).log()).mean()
            return loss
        adv = advantage(reward.squeeze(1))
        mean_logit, mean_feature = self.policy(state)
        sens_logit, sens_feature = self.policy.score_sensitivity(state)
        log_std = self.log_std
        loss = natural_policy_gradient_loss(mean_logit, log_std[0], transition['action_logit'], adv, sens_logit)
        if with_feature:
            loss = loss + natural_policy_gradient_loss(mean_feature, log_std[1], transition['action_feature'],
                                                       adv, sens_feature)
        return loss

    def _warmup_weights(self, like: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The warm-up's logit and feature weights, ``[B, M]`` each, before the gate."""
        if self.warmup_weights == 'ones':
            return torch.ones_like(like), torch.ones_like(like)
        uniform = torch.full_like(like, 1.0 / self.num_teachers)
        if self.warmup_weights == 'uniform':
            return uniform, uniform
        logit, feature = self._credit_head_targets().to(like)
        return (torch.where(self.credit.measured, logit.expand_as(like), uniform),
                torch.where(self.credit.measured, feature.expand_as(like), uniform))

    def _credit_head_targets(self) -> torch.Tensor:
        """The credit's target weights of the logit head, then of the feature head: ``[2, M]`` (one credit for both
        heads, or a row per head)."""
        return credit_targets(self.credit.value, self.credit_temperature).expand(2, -1)

    def observe_credit(self, credit: torch.Tensor) -> None:
        """Fold a credit measurement (``[M]``, or ``[2, M]`` per head) into the average, as it is measured: the
        warm-up's ``'credit'`` weights and the agent's next update use it."""
        self.credit.add(credit)

    def _credit_loss(self, transition: Dict[str, torch.Tensor], with_feature: bool) -> torch.Tensor:
        """The cross-entropy of the fused weights against the credit's target (the average of the measurements
        so far). Zero (nothing learnt) before the first measurement."""
        w_logit, w_feature = self._weights(self.policy(transition['state']), transition['ce'], transition['kl'],
                                           transition.get('cos'), transition.get('accuracy'))
        logit_target, feature_target = self._credit_head_targets()
        loss = credit_loss(w_logit, logit_target)
        if with_feature:
            loss = loss + credit_loss(w_feature, feature_target)
        return torch.where(self.credit.measured, loss, loss * 0.0)
