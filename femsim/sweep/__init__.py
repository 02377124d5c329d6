"""Parameter sweeps: one sweep file → many cases → one results table.

* :mod:`femsim.sweep.spec`: the sweep file schema (TOML, validated like a case), axes and their
  expansion into points (product or zip), dotted case keys.
* :mod:`femsim.sweep.plan`: one case file per point in ``<sweep dir>/points/<label>-<hash>/``,
  shared meshes in ``<sweep dir>/meshes/<hash>/``, the manifest ``sweep.json``.
* :mod:`femsim.sweep.state`: what each point has done (finished / failed / stale / not run).
* :mod:`femsim.sweep.local`: the local executor (a pool of ``femsim run`` processes).
* :mod:`femsim.sweep.slurm`: the SLURM job-array executor (script, submission, queue status).
* :mod:`femsim.sweep.collect`: the results table (CSV, plus Parquet when pyarrow is present).
* :mod:`femsim.sweep.tomlw`: a small TOML writer for the generated case files.

Nothing here evaluates input: sweep files are data only, and every path or name that goes into a
generated shell script is quoted with :func:`shlex.quote`.
"""
