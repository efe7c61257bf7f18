"""Command line: ``ipkg determine CASE_FILE...`` and ``ipkg report CASE_FILE``.

Exit codes:
  0  every case was determined (whatever the outcomes);
  1  an unexpected internal error;
  2  bad command-line usage;
  3  at least one case file is malformed or invalid (syntax, form, unknown codes);
  4  at least one request cannot be reviewed (guideline not modeled, date of service before the
     guideline's implementation date).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rdflib import Graph

from kb import __version__, resources
from kb.engine import determine_file
from kb.errors import CaseFormError, CaseSyntaxError, UnsupportedRequestError
from kb.namespaces import DET, IP
from kb.pipeline.determination import determination_graph

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INVALID_CASE = 3
EXIT_UNSUPPORTED = 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ipkg",
        description="Medical-necessity determinations for interventional pain procedures.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    det = sub.add_parser("determine", help="determine one or more cases")
    det.add_argument("cases", nargs="*", type=Path, help="case files (.ttl or .jsonld)")
    det.add_argument("--examples", action="store_true", help="determine the bundled example cases")
    form = det.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the machine form (a JSON array)")
    form.add_argument("--turtle", action="store_true", help="print the determinations as RDF (Turtle)")
    det.add_argument(
        "--counterfactuals", action="store_true", help="for a denial or a pend, search the changes that would approve it"
    )
    que = sub.add_parser("questionnaire", help="write the FHIR Questionnaires of the pathways, or print a pend's missing items")
    que.add_argument(
        "--out", type=Path, default=None, help="directory for one JSON file per pathway (default: docs/questionnaires)"
    )
    que.add_argument("--case", type=Path, default=None, help="print the questionnaire of this pended case's missing items")
    srv = sub.add_parser("serve", help="run the HTTP service on the embedded store, with the examples preloaded")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument("--no-examples", action="store_true", help="do not preload the example cases")
    cov = sub.add_parser("coverage", help="print the criteria coverage table (Markdown)")
    cov.add_argument("--fixtures", type=Path, default=Path("tests/criteria"), help="per-criterion fixture directory")
    guide = sub.add_parser("case-guide", help="print the guide to writing cases for each guideline (Markdown)")
    guide.add_argument("--examples", type=Path, default=None, help="examples directory (cases/ and expected/)")
    onto = sub.add_parser("ontology-docs", help="write the ontology's HTML documentation (pyLODE and the term index)")
    onto.add_argument("--output", type=Path, default=None, help="the file to write (default docs/ontology/index.html)")
    onto.add_argument("--check", action="store_true", help="exit 1 when the file differs from what would be written")
    rep = sub.add_parser("report", help="print the SHACL validation report of one case")
    rep.add_argument("case", type=Path)
    rep.add_argument("--format", choices=("turtle", "json-ld", "nt"), default="turtle")
    from kb.batch.cli import add_commands

    add_commands(sub)
    return parser


def _example_files() -> list[Path]:
    cases = resources.examples_dir() / "cases"
    return sorted([*cases.glob("*.ttl"), *cases.glob("*.jsonld")])


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "determine":
            return _determine(args)
        if args.command == "coverage":
            return _coverage(args)
        if args.command == "case-guide":
            return _case_guide(args)
        if args.command == "questionnaire":
            return _questionnaire(args)
        if args.command == "serve":
            return _serve(args)
        if args.command in ("batch", "replay"):
            from kb.batch.cli import run_batch_command, run_replay_command

            return run_batch_command(args) if args.command == "batch" else run_replay_command(args)
        if args.command == "ontology-docs":
            return _ontology_docs(args)
        return _report(args)
    except BrokenPipeError:
        return EXIT_OK


def _determine(args: argparse.Namespace) -> int:
    from kb.summary import summarize

    files: list[Path] = list(args.cases) + (_example_files() if args.examples else [])
    if not files:
        print("ipkg determine: give case files or --examples", file=sys.stderr)
        return EXIT_USAGE
    invalid = unsupported = False
    machine = []
    rdf = Graph()
    for index, path in enumerate(files):
        if not (args.json or args.turtle):
            print(f"[{index + 1}/{len(files)}] ", end="", file=sys.stderr, flush=True)
        try:
            det = determine_file(path)
            if args.counterfactuals:
                from kb.counterfactual.explain import explain
                from kb.knowledge import load_knowledge
                from kb.pipeline.caseio import read_case_file

                det.explanation = explain(read_case_file(path), det, load_knowledge())
        except (CaseSyntaxError, CaseFormError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            invalid = True
            continue
        except UnsupportedRequestError as exc:
            print(f"error: {exc}", file=sys.stderr)
            unsupported = True
            continue
        if args.json:
            machine.append(det.as_json())
        elif args.turtle:
            rdf += determination_graph(det)
        else:
            print(summarize(det), flush=True)
    if args.json:
        json.dump(machine, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    if args.turtle:
        rdf.bind("ip", IP)
        rdf.bind("det", DET)
        sys.stdout.write(rdf.serialize(format="turtle"))
    # An invalid case outranks a request that cannot be reviewed, whatever the order of the files.
    return EXIT_INVALID_CASE if invalid else EXIT_UNSUPPORTED if unsupported else EXIT_OK


def _ontology_docs(args: argparse.Namespace) -> int:
    from kb import ontology_docs

    target: Path = args.output or ontology_docs.output_file()
    if args.check:
        current = target.is_file() and target.read_text(encoding="utf-8") == ontology_docs.render_html()
        print(f"{target} is {'current' if current else 'out of date: run ipkg ontology-docs'}", file=sys.stderr)
        return EXIT_OK if current else EXIT_INTERNAL
    print(f"wrote {ontology_docs.write(target)}", file=sys.stderr)
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    """Start the service; without configured tokens, a one-off read/write token is made and printed."""
    import os
    import secrets

    import uvicorn

    os.environ.setdefault("IPKG_PRELOAD_EXAMPLES", "false" if args.no_examples else "true")
    token = None
    if not os.environ.get("IPKG_TOKENS"):
        token = secrets.token_urlsafe(24)
        os.environ["IPKG_TOKENS"] = json.dumps({token: {"name": "local-demo", "scopes": ["read", "write"]}})
    base = f"http://{args.host}:{args.port}"
    print(f"API docs:        {base}/docs", flush=True)
    print(f"OpenAPI:         {base}/openapi.json", flush=True)
    print(f"SPARQL endpoint: {base}/sparql  (a query editor in a browser; example queries: {base}/sparql/examples)", flush=True)
    print(f"Pages:           {base}/determinations  {base}/metrics/prior-authorization  {base}/ontology", flush=True)
    if token is not None:
        print(f"Bearer token (read and write, this run only): {token}", flush=True)
    print("Loading the ontology, shapes and example cases into the store; Ctrl-C stops the service.", flush=True)
    uvicorn.run("api.main:app", host=args.host, port=args.port, log_level="info")
    return EXIT_OK


def _coverage(args: argparse.Namespace) -> int:
    from kb.coverage import coverage_markdown
    from kb.knowledge import load_knowledge

    sys.stdout.write(coverage_markdown(load_knowledge(), args.fixtures))
    return EXIT_OK


def _case_guide(args: argparse.Namespace) -> int:
    from kb.casedocs import case_guide_markdown
    from kb.knowledge import load_knowledge

    examples = args.examples if args.examples is not None else resources.examples_dir()
    sys.stdout.write(case_guide_markdown(load_knowledge(), examples))
    return EXIT_OK


def _questionnaire(args: argparse.Namespace) -> int:
    from kb.knowledge import load_knowledge
    from kb.questionnaire.files import case_questionnaire, write_questionnaires

    knowledge = load_knowledge()
    if args.case is not None:
        try:
            resource = case_questionnaire(args.case, knowledge)
        except (CaseSyntaxError, CaseFormError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_INVALID_CASE
        except UnsupportedRequestError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_UNSUPPORTED
        json.dump(resource, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    out = args.out if args.out is not None else resources.questionnaires_dir()
    for name in write_questionnaires(knowledge, out):
        print(f"wrote {out / name}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    try:
        det = determine_file(args.case)
    except (CaseSyntaxError, CaseFormError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID_CASE
    except UnsupportedRequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNSUPPORTED
    sys.stdout.write(det.report.serialize(format=args.format))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
