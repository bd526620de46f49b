"""The notebooks are committed clean: no outputs, no execution counts, the project's kernel, French titles."""

from __future__ import annotations

import json

import pytest

from lakehouse.core.notebook_kernel import KERNEL_NAME
from lakehouse.core.settings import PROJECT_ROOT

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = [
    "01_decouverte_du_lakehouse",
    "02_tableau_de_bord_macroeconomique",
    "03_revisions_et_voyage_dans_le_temps",
    "04_lecture_rapide_sans_spark",
]


def test_the_four_notebooks_are_there():
    assert [path.stem for path in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_a_notebook_is_committed_without_outputs_and_names_the_project_kernel(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code
    assert all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code), (
        f"{path.name} contient des sorties : videz-les avant de committer (Edit > Clear Outputs of All Cells)"
    )
    assert notebook["metadata"]["kernelspec"]["name"] == KERNEL_NAME
    first = "".join(notebook["cells"][0]["source"])
    assert first.startswith("# 0") and "·" in first  # a French title: "# 02 · Tableau de bord ..."
