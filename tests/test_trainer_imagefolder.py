"""ImageFolder class naming for `wit eval`: positional, mapped, and the folder names themselves."""

import pytest
from PIL import Image

from wit.trainer.evaluate import image_folder
from wit.core.errors import WitError


@pytest.fixture
def digits(tmp_path):
    for name in ("zero", "one", "two"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / name / f"{name}.png")
    return tmp_path


def labels_by_file(names, samples):
    return {path.stem: names[index] for path, index in samples}


def test_folder_names_are_the_default(digits):
    names, samples = image_folder(digits)
    assert labels_by_file(names, samples) == {"zero": "zero", "one": "one", "two": "two"}


def test_a_file_of_the_folder_names_in_label_order_keeps_each_folder_its_own_name(digits, tmp_path_factory):
    # zero, one, two is not sorted folder order (one, two, zero): by position it would swap labels.
    names_file = tmp_path_factory.mktemp("n") / "classnames.txt"
    names_file.write_text("zero\none\ntwo\n")
    names, samples = image_folder(digits, str(names_file))
    assert labels_by_file(names, samples) == {"zero": "zero", "one": "one", "two": "two"}


def test_other_names_are_taken_in_sorted_folder_order(digits, tmp_path_factory):
    names_file = tmp_path_factory.mktemp("n") / "classnames.txt"
    names_file.write_text("digit one\ndigit two\ndigit zero\n")
    names, samples = image_folder(digits, str(names_file))
    assert labels_by_file(names, samples) == {"zero": "digit zero", "one": "digit one", "two": "digit two"}


def test_wrong_number_of_names_is_a_clear_error(digits, tmp_path_factory):
    names_file = tmp_path_factory.mktemp("n") / "classnames.txt"
    names_file.write_text("a\nb\n")
    with pytest.raises(WitError, match="2 names for 3 class folders"):
        image_folder(digits, str(names_file))
