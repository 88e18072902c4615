"""The fused inference form of a flow computes the same log-likelihood as the training form."""

import torch

from engine.flows import ConditionalFlow, FusedFlow, positional_encoding, stack_biases


def _trained_looking_flow(channels: int) -> ConditionalFlow:
    flow = ConditionalFlow(channels, cond_dim=16, n_blocks=4, hidden=channels, clamp=1.9, seed=3)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # move every parameter away from its identity-like initial value
        for p in flow.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=gen))
    return flow.eval()


def test_fused_flow_matches_the_training_form():
    for channels in (24, 7):
        flow = _trained_looking_flow(channels)
        x = torch.randn(6 * 5, channels, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            biases = flow.cond_biases(positional_encoding(6, 5, 16))
            expected = flow.log_prob(x, biases)
            fused = FusedFlow(flow).log_prob(x, stack_biases(biases))
        assert torch.allclose(fused, expected, atol=1e-4, rtol=1e-4)


def test_positional_encoding_differs_between_positions_and_is_bounded():
    pe = positional_encoding(4, 6, 16)
    assert pe.shape == (24, 16)
    assert pe.abs().max() <= 1.0
    assert torch.unique(pe, dim=0).shape[0] == 24


def test_inference_constraintor_with_folded_batchnorm_matches_the_module():
    from engine.heads import HeadConfig, ResADHeads

    heads = ResADHeads(HeadConfig(seed=2))
    gen = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for bn in (c[1] for c in heads.constraintors):  # non-trivial running statistics
            bn.running_mean.copy_(torch.randn(bn.running_mean.shape, generator=gen))
            bn.running_var.copy_(torch.rand(bn.running_var.shape, generator=gen) + 0.5)
            bn.weight.copy_(torch.randn(bn.weight.shape, generator=gen))
    heads.eval()
    x = torch.randn(2, 40, 9, 7, generator=gen)
    with torch.no_grad():
        expected = heads.constraintors[1](x)
    with torch.inference_mode():
        folded = heads.constrain(1, x)
    assert torch.allclose(folded, expected, atol=1e-5)


def test_an_untrained_flow_is_known_as_the_identity_and_scores_as_its_training_form():
    from engine.heads import HeadConfig, ResADHeads

    heads = ResADHeads(HeadConfig(seed=0)).eval()  # the seeded start, as the bundled heads are
    assert all(FusedFlow(f).identity for f in heads.flows)
    assert not FusedFlow(_trained_looking_flow(24)).identity
    c = heads.config.channels[1]
    constrained = torch.randn(2, c, 6, 5, generator=torch.Generator().manual_seed(2)).relu_()
    with torch.no_grad():
        shortcut = heads.log_prob_map(1, constrained)
        every_block = heads.log_prob_map(1, constrained, dense=True)
        x = constrained.permute(0, 2, 3, 1).reshape(2, 30, c)
        training_form = heads.flows[1].log_prob(x, heads.flows[1].grid_biases(6, 5, "cpu")).view(2, 6, 5)
    assert torch.allclose(shortcut, every_block, atol=1e-5) and torch.allclose(shortcut, training_form, atol=1e-5)
