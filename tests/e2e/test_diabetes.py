"""scikit-learn's bundled diabetes table, trained as a new user would: one command."""

import json

from sklearn.datasets import load_diabetes

from tests.helpers import regress, regress_here


def test_diabetes_trains_end_to_end(home, tmp_path):
    load_diabetes(as_frame=True).frame.to_csv(tmp_path / "diabetes.csv", index=False)
    done = regress("train", "--data", str(tmp_path / "diabetes.csv"), "--target", "target", home=home)
    assert done.returncode == 0, done.stderr
    assert "inferred contract: target target; numeric age, sex, bmi, bp, s1, s2, s3, s4, s5, s6" in done.stdout
    [version] = json.loads(regress_here("models", "list", "--json", home=home).stdout)
    shown = json.loads(regress_here("models", "show", version["version"], "--json", home=home).stdout)
    linear = shown["baselines"]["linear_regression"]["r2"]
    assert version["metrics"]["r2"] > 0.3
    assert linear > 0.4
