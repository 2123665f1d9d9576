"""trainer/config.py: the flags and the dataclass agree, and the module stays light."""

import argparse
import subprocess
import sys

from wit.trainer.config import PRESET_NAMES, TrainConfig, add_train_arguments


def test_flag_defaults_are_the_dataclass_defaults():
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    assert TrainConfig.from_args(parser.parse_args(["--data", "shards"])) == TrainConfig(data="shards")


def test_preset_names_are_the_model_presets():
    from wit.trainer.model import PRESETS

    assert PRESET_NAMES == tuple(PRESETS)


def test_the_config_module_does_not_import_torch():
    code = "import sys, wit.trainer.config, wit.trainer.cli; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
