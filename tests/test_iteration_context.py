"""The iteration context, the batch memo and the recording utility: what an adapter call of one batch shares."""
import pytest
import torch
import torch.nn as nn

from mtkd_rl.recording import recorded_calls, recorded_outputs
from mtkd_rl.tasks import ClassificationAdapter, IterationContext, SampleBatch


def test_a_batch_computes_each_value_once():
    batch = SampleBatch(['a', 'b'])
    calls = []
    first = batch.memoized('labels', lambda: calls.append(1) or torch.arange(2))
    again = batch.memoized('labels', lambda: calls.append(1) or torch.zeros(2))
    assert first is again and calls == [1] and len(batch) == 2
    # another key, another value; another batch of the same samples, another memo
    assert batch.memoized(('labels', 4), lambda: 4) == 4
    assert SampleBatch(batch.data_samples).memoized('labels', lambda: 'new') == 'new'


def test_a_derived_view_is_made_once_with_a_memo_of_its_own():
    batch = SampleBatch([1, 2, 3])
    made = []
    view = batch.derived('doubled', lambda samples: made.append(1) or [2 * s for s in samples])
    assert view.data_samples == [2, 4, 6] and batch.derived('doubled', lambda s: []) is view and made == [1]
    batch.memoized('key', lambda: 'outer')
    assert view.memoized('key', lambda: 'inner') == 'inner'  # no value leaks between the two memos


def test_of_wraps_a_list_and_keeps_a_batch():
    batch = SampleBatch([1])
    assert SampleBatch.of(batch) is batch
    wrapped = SampleBatch.of([1, 2])
    assert isinstance(wrapped, SampleBatch) and wrapped.data_samples == [1, 2]


def test_the_context_computes_what_it_is_asked_for():
    inputs = torch.zeros(2, 1, 4, 4)
    every = IterationContext.create(inputs, ['a', 'b'])
    assert every.needed is None and every.computes('cosine') and every.data_samples == ['a', 'b']
    some = IterationContext.create(inputs, ['a', 'b'], {'cosine'})
    assert some.needed == frozenset({'cosine'}) and some.computes('cosine') and not some.computes('summaries')
    assert not IterationContext.create(inputs, [], frozenset()).computes('student_loss')


def test_an_adapter_computes_only_the_optional_terms_it_provides():
    adapter = ClassificationAdapter()
    context = IterationContext.create(torch.zeros(1), [])
    assert adapter.computes(context, 'teacher_entropy') and adapter.computes(context, 'embeddings')
    adapter.provides = frozenset()  # as validate() leaves it for a pool whose heads cannot read the feature
    assert not adapter.computes(context, 'teacher_entropy') and adapter.computes(context, 'embeddings')
    assert not adapter.computes(IterationContext.create(torch.zeros(1), [], {'cosine'}), 'embeddings')


class Doubler(nn.Module):

    def forward(self, x, scale=2):
        return x * scale


def test_recorded_calls_see_arguments_and_results_and_leave_the_object_as_it_was():
    model = Doubler()
    seen = []
    with recorded_calls(model, 'forward', lambda args, result: seen.append((args, result))):
        out = model(torch.ones(1), scale=3)
    assert torch.equal(out, torch.full((1, ), 3.0))
    assert seen[0][0]['scale'] == 3 and torch.equal(seen[0][1], out)
    assert 'forward' not in vars(model)
    own = lambda x: x  # noqa: E731  (an instance attribute the object had before is put back)
    model.forward = own
    with recorded_calls(model, 'forward', lambda args, result: None):
        assert model.forward is not own
    assert model.forward is own


def test_recorded_outputs_remove_their_hooks_also_on_error():
    model = nn.Sequential(Doubler(), Doubler())
    seen = []
    with pytest.raises(RuntimeError):
        with recorded_outputs({'first': model[0]}, lambda name, out: seen.append((name, out))):
            model(torch.ones(1))
            raise RuntimeError('stop')
    assert seen[0][0] == 'first' and torch.equal(seen[0][1], torch.full((1, ), 2.0))
    model(torch.ones(1))
    assert len(seen) == 1 and not model[0]._forward_hooks
