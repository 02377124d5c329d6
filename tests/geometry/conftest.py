from _geometry_helpers import small_table  # noqa: F401  (fixture)
