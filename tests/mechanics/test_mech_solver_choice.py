"""Which elasticity solver the defaults pick (issue 20)."""

from femsim.solvers.mechanics import DIRECT_LIMIT, default_options


def test_m1_block_diagonal_stays_direct_at_any_size_m2_switches_to_gamg() -> None:
    big = 3 * DIRECT_LIMIT  # e.g. 1.8M unknowns
    assert default_options(big, block_diagonal=True)["pc_type"] == "lu"
    assert default_options(big, block_diagonal=True)["pc_factor_mat_solver_type"] == "mumps"
    gamg = default_options(big)
    assert gamg["pc_type"] == "gamg" and gamg["ksp_type"] == "cg"
    assert default_options(DIRECT_LIMIT)["pc_type"] == "lu"
