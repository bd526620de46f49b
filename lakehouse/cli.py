"""Command-line entry point behind the Makefile: `python -m lakehouse <command>`.

Every error the user can act on is a `LakehouseError` (settings, Java, jars, services, a job,
a failed pipeline step): it is printed as one clear message on stderr with exit code 1,
never as a bare stack trace. Job packages are imported inside the commands that need them,
so that `make status`, `make settings` or `make sql` start quickly (the pipeline and the stack
modules are imported by the commands that use them).
"""

from __future__ import annotations

import argparse
import os
import sys

from lakehouse.core import jars
from lakehouse.core.errors import LakehouseError
from lakehouse.core.french_argparse import FrenchArgumentParser
from lakehouse.core.reporting import only_news
from lakehouse.core.settings import load_settings
from lakehouse.core.spark_conf import spark_environment, spark_home
from lakehouse.core.streams import selected_streams
from lakehouse.services import ServiceError
from lakehouse.services.process import port_answers

news_only = only_news(print)


def _setup(args: argparse.Namespace) -> int:
    from lakehouse.provision import provision

    provision(quiet=args.quiet)
    return 0


def _up(args: argparse.Namespace) -> int:
    from lakehouse import stack

    stack.up(load_settings(), args.services)
    return 0


def _down(args: argparse.Namespace) -> int:
    from lakehouse import stack

    stack.down(load_settings(), args.services)
    return 0


def _cluster_up(args: argparse.Namespace) -> int:
    from lakehouse import cluster, stack

    settings = load_settings()
    with stack.stack_lock(settings):
        cluster.up(settings, args.workers)
    return 0


def _cluster_down(args: argparse.Namespace) -> int:
    from lakehouse import cluster, stack

    settings = load_settings()
    with stack.stack_lock(settings):
        cluster.down(settings)
    return 0


# A service's state as `make status` shows it (ManagedProcess.state's values).
STATE_LABELS = {"running": "démarré", "stopped": "arrêté", "stale": "PID périmé"}


def _status(args: argparse.Namespace) -> int:
    from lakehouse import run_report, stack

    settings = load_settings()
    rows = stack.status(settings)
    width = max(10, *(len(row.name) for row in rows))
    print(f"{'service':<{width}} {'état':<10} {'PID':>7}  {'adresse':<32} santé")
    for row in rows:
        state = STATE_LABELS.get(row.state, row.state)
        print(f"{row.name:<{width}} {state:<10} {row.pid or '-':>7}  {row.port:<32} {row.health}")
        if row.state != "running":
            print(f"{'':<{width}} journal : {row.log}")
    from lakehouse.core.write_lock import current_holder

    holder = current_holder(settings)
    print()
    print(f"écriture du lac en cours : {holder.describe()}" if holder else "écriture du lac : aucune en cours")
    running = run_report.run_in_progress(settings)
    if running:
        print(run_report.format_in_progress(running))
    last = run_report.last_run(settings)
    for line in run_report.format_last_run(last) if last else ["aucune exécution de make run terminée"]:
        print(line)
    needed = [row for row in rows if not (row.on_demand and row.state == "stopped")]
    return 0 if all(row.state == "running" and row.health.startswith("OK") for row in needed) else 3


def _beeline(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not port_answers(settings.thrift_host, settings.thrift_port):
        raise ServiceError(
            f"le serveur Thrift ne répond pas sur {settings.thrift_host}:{settings.thrift_port} : "
            "lancez `make up` (état : `make status`)"
        )
    command = [str(spark_home() / "bin" / "beeline"), "-u", settings.jdbc_url, "-n", settings.thrift_user]
    if args.sql:
        command += ["--silent=true", "--showHeader=true", "--outputformat=table", "-e", args.sql]
    env = spark_environment(settings)
    sys.stdout.flush()
    os.execve(command[0], command, env)


UNAUDITED_WRITE = (
    "dbt {command} écrirait silver et gold directement sur main, hors audit (ni tests sur une branche, ni "
    "suites Great Expectations, ni publication d'ensemble) : `make dbt-build` (ou `make dbt-run`) construit "
    "comme make run, sur une branche d'audit ; DBT_TARGET=dev écrit dev_silver et dev_gold pour un essai ; "
    "FORCE=1 écrit main quand même (make audit-report dira ces snapshots non audités)"
)


def _dbt(args: argparse.Namespace) -> int:
    import subprocess

    from lakehouse.dbt_runner import dbt_command, dbt_writes

    command, env, cwd = dbt_command(load_settings(), args.dbt_args)
    sys.stdout.flush()
    if dbt_writes(args.dbt_args):  # under the write lock, held by this process while dbt runs
        from lakehouse.core.children import die_with_parent

        return subprocess.run(command, env=env, cwd=cwd, preexec_fn=die_with_parent).returncode
    os.chdir(cwd)
    os.execve(command[0], command, env)


def _forced() -> bool:
    return os.environ.get("FORCE", "").strip().lower() in ("1", "yes", "true", "oui")


def refuse_unaudited_write(args: argparse.Namespace) -> None:
    """A dbt command that would write main outside the audit is refused, unless FORCE=1 (before any lock,
    watch or service)."""
    from lakehouse.dbt_runner import writes_main

    if args.command == "dbt" and writes_main(args.dbt_args) and not _forced():
        raise LakehouseError(UNAUDITED_WRITE.format(command=args.dbt_args[0]))


def _audited_dbt_build(args: argparse.Namespace) -> int:
    """`make dbt-build` / `make dbt-run`: the dbt step of make run (audit branch, checks, publication of all
    tables together, only what changed unless FULL=1); with DBT_TARGET=dev, a plain build of dev_silver and
    dev_gold, which nobody reads as published."""
    import subprocess

    from lakehouse import pipeline, stack
    from lakehouse.core.children import die_with_parent
    from lakehouse.dbt_runner import PUBLISHED_TARGET, dbt_command, dbt_target

    settings = load_settings()
    target = dbt_target([])
    if target != PUBLISHED_TARGET:
        command, env, cwd = dbt_command(settings, ["build", "--target", target])
        stack.up(settings, ["seaweedfs", "thrift"], progress=news_only)
        sys.stdout.flush()
        return subprocess.run(command, env=env, cwd=cwd, preexec_fn=die_with_parent).returncode
    steps = [step for step in pipeline.STEPS if step.name in ("stack", "dbt-build")]
    pipeline.run_pipeline(settings, steps)
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from lakehouse import stack
    from lakehouse.bceao_api import ingest_from_bceao

    streams = selected_streams(args.streams)  # already checked by check_arguments, before the lock
    settings = load_settings()
    stack.up(settings, ["seaweedfs"], progress=news_only)
    ingest_from_bceao(settings, streams)
    return 0


def _register(args: argparse.Namespace) -> int:
    from lakehouse_spark.bronze_job import run_register

    run_register(load_settings(), selected_streams(args.streams))
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from lakehouse_spark.bronze_job import run_reconcile

    run_reconcile(load_settings(), selected_streams(args.streams))
    return 0


def _repair(args: argparse.Namespace) -> int:
    from lakehouse import stack
    from lakehouse_spark.repair import repair
    from lakehouse_spark.session import get_spark

    streams = selected_streams(args.streams)
    settings = load_settings()
    stack.up(settings, ["seaweedfs"], progress=news_only)
    repair(get_spark("lakehouse-repair", settings), settings, streams, apply=args.apply)
    return 0


def _maintenance_spark(settings, store_started: bool = False):
    """The Spark session of the maintenance and history commands, SeaweedFS started first (unless
    `_check_table_first` just did)."""
    from lakehouse import stack
    from lakehouse.core.maintenance_policy import load_policy
    from lakehouse_spark.session import get_spark

    load_policy(settings.maintenance_policy_file)  # a bad policy is refused before Spark starts
    if not store_started:
        stack.up(settings, ["seaweedfs"], progress=news_only)
    return get_spark("lakehouse-maintenance", settings)


def _check_table_first(settings, identifier: str) -> None:
    """A table named by TABLE= that does not exist is refused in a second, before a Spark session starts."""
    from lakehouse import stack
    from lakehouse.fast_read import Lake
    from lakehouse_spark.table_stats import UnknownTable

    if identifier.count(".") != 1:
        raise UnknownTable(f"TABLE={identifier} : nommez la table « namespace.table », par exemple bronze.raw_events")
    stack.up(settings, ["seaweedfs"], progress=news_only)
    Lake(settings).load(identifier)


def _maintenance(args: argparse.Namespace) -> int:
    from lakehouse_spark.maintenance import JOBS, run_maintenance

    settings = load_settings()
    jobs = list(JOBS) if args.command == "maintain" else [args.command]
    run_maintenance(_maintenance_spark(settings), settings, jobs, table=args.table, apply=args.apply)
    if args.command == "maintain" and not args.table:
        from lakehouse.publication import drop_stale_audit_branches

        dropped = drop_stale_audit_branches(settings, out=print)
        print(f"branches d'audit périmées supprimées : {dropped}")
    return 0


def _quality(args: argparse.Namespace) -> int:
    from lakehouse import stack
    from lakehouse.publication import run_quality_gate
    from lakehouse_spark.quality import data_docs_index

    settings = load_settings()
    stack.up(settings, ["seaweedfs"], progress=news_only)
    outcomes = run_quality_gate(settings, None, out=print)
    failed = [o for o in outcomes if not o.success]
    for outcome in failed:
        print(f"{'ÉCHEC' if outcome.blocking else outcome.severity} : {outcome.line()}")
    print(
        f"{len(outcomes) - len(failed)}/{len(outcomes)} attentes satisfaites ; résultats dans "
        f"{settings.catalog_name}.{settings.quality_namespace}.validation_results ; "
        f"Data Docs : {data_docs_index(settings)}"
    )
    return 1 if any(o.blocking for o in failed) else 0


def _audit_report(args: argparse.Namespace) -> int:
    from lakehouse.publication import audit_report

    audit_report(load_settings())
    return 0


def _publish(args: argparse.Namespace) -> int:
    from lakehouse.publication import force_publish

    force_publish(load_settings(), force=args.force)
    return 0


def _table_health(args: argparse.Namespace) -> int:
    from lakehouse_spark.table_health import table_health

    settings = load_settings()
    table_health(_maintenance_spark(settings), settings, table=args.table)
    return 0


def _snapshots(args: argparse.Namespace) -> int:
    from lakehouse_spark.recovery import print_history

    settings = load_settings()
    _check_table_first(settings, args.table)
    print_history(_maintenance_spark(settings, store_started=True), args.table)
    return 0


def _rollback_target(args: argparse.Namespace):
    """The snapshot id or the instant a rollback asks for, or the French line saying what is wrong with it."""
    from lakehouse_spark.recovery import check_rollback_target, parse_snapshot_id, parse_timestamp

    at = parse_timestamp(args.timestamp) if args.timestamp else None
    snapshot = parse_snapshot_id(args.snapshot) if args.snapshot else None
    check_rollback_target(snapshot, at)
    return snapshot, at


def _rollback(args: argparse.Namespace) -> int:
    from lakehouse_spark.recovery import rollback

    settings = load_settings()
    snapshot, at = _rollback_target(args)  # already checked by check_arguments, before the lock
    _check_table_first(settings, args.table)
    rollback(_maintenance_spark(settings, store_started=True), args.table, snapshot_id=snapshot, at=at)
    return 0


def _changes(args: argparse.Namespace) -> int:
    from lakehouse_spark.change_feed import parse_bound, print_changes, read_changes

    settings = load_settings()
    if not args.start:
        raise LakehouseError("donnez FROM=<snapshot> ou FROM='aaaa-mm-jj hh:mm:ss' (UTC) : `make snapshots TABLE=...`")
    parse_bound(args.start, "FROM")  # a bad FROM or TO is refused before Spark starts
    if args.end:
        parse_bound(args.end, "TO")
    _check_table_first(settings, args.table)
    spark = _maintenance_spark(settings, store_started=True)
    feed = read_changes(spark, settings, args.table, args.start, args.end, args.key)
    print_changes(feed, limit=args.limit)
    return 0


def _notebook(args: argparse.Namespace) -> int:
    from lakehouse import stack
    from lakehouse.services import service_named

    settings = load_settings()
    stack.up(settings, ["seaweedfs", "jupyter"])  # says « déjà démarré » too: this command is about the service
    print(f"JupyterLab : {service_named('jupyter').user_url(settings)}")
    print("carnets : notebooks/ (commencez par 02_tableau_de_bord_macroeconomique) ; `make down` arrête JupyterLab")
    return 0


def _orchestrator(args: argparse.Namespace) -> int:
    from lakehouse import stack
    from lakehouse.orchestrator import check_schedule
    from lakehouse.orchestrator.dbt_assets import manifest_outdated
    from lakehouse.services import service_named

    settings = load_settings()
    check_schedule(settings)
    services = ["dagster", "dagster-daemon"]
    running = [name for name in services if service_named(name).process(settings).state() == "running"]
    if running and manifest_outdated(settings):  # the lineage must show the project as it is now
        print("projet dbt modifié depuis le démarrage de l'orchestrateur : redémarrage pour relire son manifeste")
        stack.down(settings, services)
    stack.up(settings, services)  # says « déjà démarré » too: this command is about them
    print(f"page de l'orchestrateur : {service_named('dagster').user_url(settings)}")
    print(
        f"run quotidien planifié : « {settings.get('SCHEDULE_CRON')} » (UTC, LAKEHOUSE_SCHEDULE_CRON), actif ; "
        "un run à la fois ; `make down` arrête l'orchestrateur"
    )
    return 0


def _psql(args: argparse.Namespace) -> int:
    """`make psql [Q="select ..."]`: psql on the serving copy, its password from a private PGPASSFILE."""
    import shutil

    from lakehouse.core.files import write_private
    from lakehouse.services.postgres import bin_dir

    settings = load_settings()
    binaries = bin_dir(settings)
    psql = str(binaries / "psql") if binaries and (binaries / "psql").is_file() else shutil.which("psql")
    if psql is None:
        raise LakehouseError("psql introuvable : installez le paquet Debian postgresql-client (ou postgresql)")
    host, port = settings.get("POSTGRES_HOST"), settings.get("POSTGRES_PORT")
    database, user = settings.get("POSTGRES_DB"), settings.get("POSTGRES_USER")
    passfile = settings.run_dir / "pgpass"
    write_private(passfile, f"{host}:{port}:{database}:{user}:{settings.get('POSTGRES_PASSWORD')}\n")
    command = [psql, f"host={host} port={port} dbname={database} user={user}"]
    if args.query:
        command += ["--no-psqlrc", "-c", args.query]
    sys.stdout.flush()
    os.execve(psql, command, {**os.environ, "PGPASSFILE": str(passfile)})


def _sql(args: argparse.Namespace) -> int:
    from lakehouse.fast_read_cli import run_sql

    return run_sql(load_settings(), args.query, args.snapshot or [], args.as_of, args.max_rows)


def _rag_index(args: argparse.Namespace) -> int:
    from lakehouse.rag.ask_cli import run_index

    return run_index(load_settings())


def _ask(args: argparse.Namespace) -> int:
    from lakehouse.rag.ask_cli import run_ask

    return run_ask(load_settings(), args.question, args.format)


def _run(args: argparse.Namespace) -> int:
    from lakehouse import pipeline

    pipeline.run_pipeline(load_settings())
    return 0


def _serve(args: argparse.Namespace) -> int:
    from lakehouse import stack
    from lakehouse.services import PostgresServer
    from lakehouse.serving import serve, serving_configured, summary

    settings = load_settings()
    if PostgresServer().enabled(settings):
        stack.up(settings, ["postgres"], progress=news_only)
    elif not serving_configured(settings):
        raise ServiceError(
            "aucun serveur PostgreSQL : installez le paquet Debian postgresql (LAKEHOUSE_POSTGRES_LOCAL=auto le "
            "démarre), ou LAKEHOUSE_POSTGRES_LOCAL=false avec LAKEHOUSE_POSTGRES_HOST/PORT/USER/PASSWORD d'un serveur"
        )
    print(summary(serve(settings, full=args.full)))
    return 0


def _settings(args: argparse.Namespace) -> int:
    settings = load_settings()
    for key, value in settings.masked().items():
        print(f"{key}={value}    # {settings.origins.get(key)}")
    return 0


def _verify_jars(args: argparse.Namespace) -> int:
    settings = load_settings()
    for path in jars.verified_jars(settings):
        print(f"OK {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = FrenchArgumentParser(prog="lakehouse", description="Lakehouse des indicateurs économiques UEMOA")
    commands = parser.add_subparsers(dest="command", required=True, metavar="commande")
    setup = commands.add_parser("setup", help="fichier de réglages local, Java, jars vérifiés")
    setup.add_argument("--quiet", action="store_true", help="ne dire que ce qui a été fait (prérequis d'une cible)")
    setup.set_defaults(func=_setup)
    for name, func, text in (("up", _up, "démarre les services"), ("down", _down, "arrête les services démarrés")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("services", nargs="*", help="seaweedfs, thrift, jupyter (up : seaweedfs et thrift par défaut)")
        sub.set_defaults(func=func)
    cluster_up = commands.add_parser("cluster-up", help="cluster Spark standalone local (master et workers)")
    cluster_up.add_argument("--workers", type=int, help="nombre de workers (LAKEHOUSE_SPARK_WORKERS par défaut)")
    cluster_up.set_defaults(func=_cluster_up)
    commands.add_parser("cluster-down", help="arrête le cluster Spark local").set_defaults(func=_cluster_down)
    commands.add_parser("status", help="état et santé des services").set_defaults(func=_status)
    beeline = commands.add_parser("beeline", help="Beeline sur le serveur Thrift")
    beeline.add_argument("--sql", help="une requête à exécuter, puis quitter")
    beeline.set_defaults(func=_beeline)
    commands.add_parser("run", help="le pipeline complet").set_defaults(func=_run)
    commands.add_parser("notebook", help="JupyterLab en arrière-plan (127.0.0.1, jeton)").set_defaults(func=_notebook)
    commands.add_parser(
        "orchestrator", help="orchestrateur Dagster en arrière-plan (page, démon, run quotidien planifié)"
    ).set_defaults(func=_orchestrator)
    sql = commands.add_parser("sql", help="lecture rapide sans Spark (pyiceberg + DuckDB) ; sans requête : les tables")
    sql.add_argument("query", nargs="?", default="", help="une requête SELECT sur bronze.*, silver.*, gold.*")
    sql.add_argument("--snapshot", action="append", help="ID ou table=ID : lire ce snapshot (voyage dans le temps)")
    sql.add_argument("--as-of", help="lire chaque table telle qu'elle était à cet instant UTC ('2026-11-23 10:00')")
    sql.add_argument("--max-rows", type=int, default=40, help="lignes affichées au plus (40)")
    sql.set_defaults(func=_sql)
    commands.add_parser("rag-index", help="index de recherche sémantique (gold, doc dbt, documents)").set_defaults(
        func=_rag_index
    )
    ask = commands.add_parser("ask", help="une question en français : chiffres de gold et passages cités")
    ask.add_argument("question", help="la question, entre guillemets")
    ask.add_argument("--format", choices=("text", "json"), default="text", help="text (défaut) ou json")
    ask.set_defaults(func=_ask)
    ingest = commands.add_parser("ingest", help="connecteur Airbyte → fichiers Parquet dans s3://<bucket>/bronze/")
    ingest.add_argument("streams", nargs="*", help="flux à ingérer (tous par défaut)")
    ingest.set_defaults(func=_ingest)
    for name, func, text in (
        ("register", _register, "fichiers déposés → tables Iceberg de bronze, une seule fois"),
        ("reconcile", _reconcile, "vérifie fichiers déposés = registre + quarantaine, lignes comprises"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("streams", nargs="*", help="flux (tous par défaut)")
        sub.set_defaults(func=func)
    repair_parser = commands.add_parser("repair", help="remet bronze d'accord avec ses fichiers (essai à blanc)")
    repair_parser.add_argument("streams", nargs="*", help="flux (tous par défaut)")
    repair_parser.add_argument("--apply", action="store_true", help="appliquer les actions")
    repair_parser.set_defaults(func=_repair)
    commands.add_parser(
        "dbt-build", help="dbt build de silver et gold comme make run : branche d'audit, contrôles, publication"
    ).set_defaults(func=_audited_dbt_build)
    dbt = commands.add_parser("dbt", help="dbt sur le projet dbt/, avec les réglages du lakehouse")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER, help="arguments de dbt (debug, run, build, ...)")
    dbt.set_defaults(func=_dbt)
    for name, text in (
        ("maintain", "compact, rewrite-manifests, expire-snapshots, remove-orphans, dans cet ordre"),
        ("compact", "rewrite_data_files selon la politique"),
        ("rewrite-manifests", "rewrite_manifests"),
        ("expire-snapshots", "expire_snapshots (âge et retain_last de la politique)"),
        ("remove-orphans", "remove_orphan_files, essai à blanc sauf --apply"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--table", help="namespace.table (toutes les tables maintenues par défaut)")
        sub.add_argument("--apply", action="store_true", help="supprimer vraiment les fichiers orphelins")
        sub.set_defaults(func=_maintenance)
    health = commands.add_parser("table-health", help="état de chaque table et ce que maintain ferait")
    health.add_argument("--table", help="namespace.table")
    health.set_defaults(func=_table_health)
    snapshots = commands.add_parser("snapshots", help="historique des snapshots d'une table")
    snapshots.add_argument("--table", required=True, help="namespace.table")
    snapshots.set_defaults(func=_snapshots)
    rollback = commands.add_parser("rollback", help="ramène une table à un snapshot ou à un instant")
    rollback.add_argument("--table", required=True, help="namespace.table")
    rollback.add_argument("--snapshot", help="identifiant du snapshot (make snapshots)")
    rollback.add_argument("--timestamp", help="instant UTC, par exemple '2026-11-23 10:00:00'")
    rollback.set_defaults(func=_rollback)
    changes = commands.add_parser("changes", help="lignes insérées, supprimées, mises à jour d'une table depuis FROM")
    changes.add_argument("--table", required=True, help="namespace.table, ex. silver.stg_users")
    changes.add_argument("--from", dest="start", help="snapshot (exclu) ou instant UTC de départ")
    changes.add_argument("--to", dest="end", help="snapshot ou instant UTC de fin (défaut : l'état courant)")
    changes.add_argument("--key", help="colonnes d'identifiant, ex. pays,annee,trimestre")
    changes.add_argument("--limit", type=int, default=50, help="changements affichés au plus")
    changes.set_defaults(func=_changes)
    commands.add_parser("quality", help="suites Great Expectations sur main, Data Docs").set_defaults(func=_quality)
    commands.add_parser("audit-report", help="le dernier audit Write-Audit-Publish").set_defaults(func=_audit_report)
    publish = commands.add_parser("publish", help="publie le dernier audit en échec (--force)")
    publish.add_argument("--force", action="store_true", help="publier malgré les problèmes de l'audit")
    publish.set_defaults(func=_publish)
    serve_parser = commands.add_parser("serve", help="copie de service de gold dans PostgreSQL, par snapshot")
    serve_parser.add_argument("--full", action="store_true", help="recopier toutes les tables")
    serve_parser.set_defaults(func=_serve)
    psql = commands.add_parser("psql", help="psql sur la copie de service PostgreSQL (make serve)")
    psql.add_argument("query", nargs="?", default="", help="une requête (sinon psql interactif)")
    psql.set_defaults(func=_psql)
    commands.add_parser("settings", help="les réglages effectifs (secrets masqués)").set_defaults(func=_settings)
    commands.add_parser("verify-jars", help="revérifie les jars").set_defaults(func=_verify_jars)
    return parser


# Commands that write the lake, under its write lock (`lakehouse.core.write_lock`); dbt: its writing subcommands.
WRITERS = frozenset(
    (
        "run",
        "dbt-build",
        "ingest",
        "register",
        "quality",
        "publish",
        "maintain",
        "compact",
        "rewrite-manifests",
        "expire-snapshots",
        "remove-orphans",
        "rollback",
        "serve",
        "rag-index",
        "repair",
    )
)


def writer_label(args: argparse.Namespace) -> str | None:
    """How a writing command is named to a second writer (`make run`, `dbt build`); None for a reader."""
    if args.command == "dbt":
        from lakehouse.dbt_runner import dbt_writes

        return f"dbt {args.dbt_args[0]}" if dbt_writes(args.dbt_args) else None
    if args.command == "repair" and not args.apply:
        return None  # a dry run only reads
    return f"make {args.command}" if args.command in WRITERS else None


# The services each command uses, watched while it runs (`lakehouse.core.service_watch`); `make run` watches
# each of its steps itself.
_LAKE = ("s3", "catalog")
WATCHED = {
    "ingest": ("s3",),
    "register": _LAKE,
    "reconcile": _LAKE,
    "repair": _LAKE,
    "dbt": (*_LAKE, "thrift"),
    "quality": _LAKE,
    "publish": _LAKE,
    "maintain": _LAKE,
    "compact": _LAKE,
    "rewrite-manifests": _LAKE,
    "expire-snapshots": _LAKE,
    "remove-orphans": _LAKE,
    "table-health": _LAKE,
    "snapshots": _LAKE,
    "rollback": _LAKE,
    "changes": _LAKE,
    "serve": (*_LAKE, "postgres"),
    "rag-index": (*_LAKE, "chroma"),
}


def _run_command(args: argparse.Namespace) -> int:
    watched = WATCHED.get(args.command, ())
    if not watched:
        return args.func(args)
    from lakehouse.core.service_watch import watching

    with watching(load_settings(), watched, f"`make {args.command}` arrêté"):
        return args.func(args)


def check_arguments(args: argparse.Namespace) -> None:
    """What is wrong in a command's own arguments (an unknown stream, a rollback target that is no snapshot id
    or instant), refused before the write lock is taken and before any service or Spark starts."""
    if getattr(args, "streams", None):
        selected_streams(args.streams)
    if args.command == "rollback":
        _rollback_target(args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_arguments(args)
        refuse_unaudited_write(args)
        label = writer_label(args)
        if label is None:
            return _run_command(args)
        from lakehouse.core.write_lock import write_lock

        with write_lock(load_settings(), label):
            return _run_command(args)
    except LakehouseError as error:
        print(f"ERREUR : {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrompu", file=sys.stderr)
        return 130
