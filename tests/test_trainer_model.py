"""trainer/model.py and trainer/loss.py: shapes, parameter counts, temperature, loss maths."""

import math

import pytest
import torch

from wit.trainer.loss import contrastive_loss
from wit.trainer.model import MAX_LOGIT_SCALE, PRESETS, build_model, count_parameters
from wit.trainer.train import cosine_with_warmup, parameter_groups

# OpenAI's released checkpoints have exactly these many parameters (49,408 tokens, context 77).
PAPER_PARAMETERS = {
    "RN50": 102_007_137,
    "RN101": 119_688_033,
    "RN50x4": 178_300_601,
    "ViT-B/32": 151_277_313,
    "ViT-B/16": 149_620_737,
    "ViT-L/14": 427_616_513,
}


@pytest.mark.parametrize("name", sorted(PAPER_PARAMETERS))
def test_paper_presets_have_the_released_parameter_counts_and_shapes(name):
    model = build_model(name, device="meta")  # allocates nothing
    counts = count_parameters(model)
    print(name, counts)
    assert counts["total"] == PAPER_PARAMETERS[name]
    config = PRESETS[name]
    images = torch.empty(2, 3, config.image_size, config.image_size, device="meta")
    tokens = torch.zeros(2, 77, dtype=torch.long, device="meta")
    image_features, text_features, scale = model(images, tokens)
    assert image_features.shape == text_features.shape == (2, config.embed_dim)


@pytest.mark.parametrize("name", ["tiny-vit", "tiny-rn"])
def test_tiny_presets_give_unit_norm_embeddings(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    config = model.config
    images = torch.randn(3, 3, config.image_size, config.image_size)
    tokens = torch.randint(1, config.eot_token_id, (3, config.context_length))
    tokens[:, 5] = config.eot_token_id
    image_features, text_features, scale = model(images, tokens)
    assert image_features.shape == text_features.shape == (3, config.embed_dim)
    assert torch.allclose(image_features.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert torch.allclose(text_features.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert scale.item() == pytest.approx(1 / 0.07, rel=1e-5)


def test_text_features_come_from_the_eot_token_and_ignore_what_follows():
    torch.manual_seed(0)
    model = build_model("tiny-vit").eval()
    eot = model.config.eot_token_id
    tokens = torch.randint(1, eot, (1, model.config.context_length))
    tokens[0, 6] = eot
    base = model.encode_text(tokens)
    after = tokens.clone()
    after[0, 7:] = 0  # padding after EOT cannot matter under causal attention
    before = tokens.clone()
    before[0, 3] = (before[0, 3] + 1) % eot
    assert torch.allclose(model.encode_text(after), base, atol=1e-6)
    assert not torch.allclose(model.encode_text(before), base, atol=1e-4)


def test_temperature_is_clamped_so_logits_never_exceed_100():
    model = build_model("tiny-vit")
    with torch.no_grad():
        model.logit_scale.fill_(10.0)  # exp(10) ~ 22026
    assert model.temperature_scale().item() == pytest.approx(100.0)
    features = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    assert (model.temperature_scale() * features @ features.t()).max().item() <= 100.0 + 1e-4
    assert MAX_LOGIT_SCALE == pytest.approx(math.log(100))


def test_loss_equals_a_hand_computation():
    image = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    text = torch.tensor([[0.8, 0.6], [0.0, 1.0]])
    scale = torch.tensor(2.0)
    # logits = 2 * image @ text.T = [[1.6, 0], [0.96+0.96, 1.6]] = [[1.6, 0.0], [1.92, 1.6]]
    l11, l12, l21, l22 = 1.6, 0.0, 1.92, 1.6
    image_to_text = (-(l11 - math.log(math.exp(l11) + math.exp(l12))) - (l22 - math.log(math.exp(l21) + math.exp(l22)))) / 2
    text_to_image = (-(l11 - math.log(math.exp(l11) + math.exp(l21))) - (l22 - math.log(math.exp(l12) + math.exp(l22)))) / 2
    expected = (image_to_text + text_to_image) / 2
    assert contrastive_loss(image, text, scale).item() == pytest.approx(expected, rel=1e-6)


def test_loss_is_symmetric_in_images_and_texts():
    torch.manual_seed(1)
    image = torch.nn.functional.normalize(torch.randn(6, 16), dim=-1)
    text = torch.nn.functional.normalize(torch.randn(6, 16), dim=-1)
    scale = torch.tensor(14.3)
    assert contrastive_loss(image, text, scale).item() == pytest.approx(contrastive_loss(text, image, scale).item(), rel=1e-6)
    # perfectly matched pairs at a high scale give a loss near zero; random pairs near log(N)
    assert contrastive_loss(image, image, torch.tensor(100.0)).item() < 1e-3
    assert contrastive_loss(image, text, torch.tensor(1e-3)).item() == pytest.approx(math.log(6), rel=1e-3)


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    model = build_model("tiny-vit")
    images = torch.randn(4, 3, 64, 64)
    tokens = torch.randint(1, 4095, (4, 32))
    tokens[:, 9] = 4095

    def gradients():
        model.zero_grad()
        contrastive_loss(*model(images, tokens)).backward()
        return [p.grad.clone() for p in model.parameters()]

    plain = gradients()
    model.set_grad_checkpointing(True)
    checkpointed = gradients()
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(plain, checkpointed))


def test_no_weight_decay_on_gains_biases_and_temperature():
    model = build_model("tiny-rn")
    decay, no_decay = parameter_groups(model, 0.2)
    names = {id(p): n for n, p in model.named_parameters()}
    no_decay_names = {names[id(p)] for p in no_decay["params"]}
    assert "logit_scale" in no_decay_names
    assert all(p.ndim >= 2 for p in decay["params"]) and decay["weight_decay"] == 0.2
    assert any(n.endswith("bn1.weight") for n in no_decay_names) and any(n.endswith(".bias") for n in no_decay_names)
    assert no_decay["weight_decay"] == 0.0


def test_cosine_schedule_with_warmup():
    factor = cosine_with_warmup(warmup=10, total=110)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(60) == pytest.approx(0.5) and factor(110) == pytest.approx(0.0, abs=1e-12)
    assert all(factor(s) >= factor(s + 1) for s in range(10, 110))


def test_bf16_autocast_on_cpu_runs_the_towers_in_bf16():
    from wit.trainer.train import autocast_context

    torch.manual_seed(0)
    model = build_model("tiny-vit")
    with autocast_context("amp_bf16", torch.device("cpu")):
        image_features = model.visual(torch.randn(2, 3, 64, 64))
    assert image_features.dtype == torch.bfloat16
    with autocast_context("fp32", torch.device("cpu")):
        assert model.visual(torch.randn(2, 3, 64, 64)).dtype == torch.float32
