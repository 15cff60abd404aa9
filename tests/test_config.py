import pytest

from dgl_doscond.config import (
    Config,
    ConfigError,
    load_config,
    shipped_config_names,
)


def test_defaults_are_method_md_settings():
    config = load_config()
    assert isinstance(config, Config)
    assert config.model.backbone == "gcn"
    assert config.model.num_layers == 3 and config.model.hidden_feats == 128
    assert config.condense.epochs == 1000 and config.condense.lr_feat == 0.01
    assert config.condense.batch_real == 256 and config.condense.beta == 0.1
    assert config.evaluate.epochs == 500 and config.evaluate.batch_size == 128


@pytest.mark.parametrize(
    "name, lr_adj",
    [
        ("MUTAG", 0.1),
        ("NCI1", 1.0),
        ("DD", 2.0),
        ("ogbg-molhiv", 0.01),
        ("ogbg-molbace", 0.01),
        ("ogbg-molbbbp", 2.0),
    ],
)
def test_shipped_dataset_configs(name, lr_adj):
    assert name in shipped_config_names()
    assert load_config(name).condense.lr_adj == lr_adj


def test_dataset_specific_options():
    hiv = load_config("ogbg-molhiv")
    assert hiv.model.pooling == "sum" and hiv.condense.bound_reg
    assert hiv.evaluate.epochs == 100 and hiv.feat_encoding == "raw"
    assert load_config("ogbg-molbace").feat_encoding == "raw"
    assert load_config("ogbg-molbbbp").feat_encoding == "onehot"
    assert load_config("ogbg-molbace").condense.matching == "mixed"
    assert load_config("ENZYMES").condense.lr_adj == 1.0  # generic default


def test_user_file_then_overrides(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("condense:\n  gpc: 5\n  lr_adj: 0.5\n")
    config = load_config(
        "MUTAG", path, {"condense": {"gpc": 7}, "split_seed": 3}
    )
    assert config.condense.gpc == 7
    assert config.condense.lr_adj == 0.5
    assert config.split_seed == 3


def test_config_is_frozen():
    config = load_config()
    with pytest.raises(AttributeError):
        config.condense.gpc = 3


@pytest.mark.parametrize(
    "text, match",
    [
        ("condense:\n  gcp: 3\n", r"Unknown config key 'condense.gcp'"),
        ("modle:\n  backbone: gcn\n", r"Unknown config key 'modle'"),
        ("condense:\n  gpc: three\n", r"'condense.gpc' expects an integer"),
        ("condense:\n  gpc: 0\n", r"'condense.gpc' must be >= 1; got 0"),
        ("condense:\n  lr_adj: -1\n", r"'condense.lr_adj' must be > 0"),
        ("condense:\n  distance: l2\n", r"must be one of mse, ours, cosine"),
        ("model:\n  backbone: gat9\n", r"'model.backbone' must be one of"),
        ("condense:\n  bound_reg: 1\n", r"expects true or false"),
        ("condense: 3\n", r"section 'condense' must be a mapping"),
        ("- a\n- b\n", r"must be a mapping of sections"),
        ("condense: [\n", r"is not valid YAML"),
    ],
)
def test_bad_files_name_the_key_and_value(tmp_path, text, match):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config("MUTAG", path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("MUTAG", tmp_path / "nope.yaml")


def test_empty_file_is_no_change(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_config("MUTAG", path) == load_config("MUTAG")


@pytest.mark.parametrize("spelling", ["mutag", "Mutag", "MUTAG"])
def test_shipped_config_found_for_any_spelling(spelling):
    assert load_config(spelling).condense.lr_adj == 0.1


def test_molhiv_config_found_with_underscores():
    assert load_config("ogbg_molhiv").model.pooling == "sum"


def test_dcgraph_steps_follow_dataset_condensation():
    from dgl_doscond.config import dcgraph_steps

    assert [dcgraph_steps(k) for k in (1, 10, 20, 50)] == [
        (1, 1),
        (10, 50),
        (50, 10),
        (50, 10),
    ]
