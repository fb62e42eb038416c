"""Training sets: each format read (bad rows reported by row number, never dropped silently)
and written back, duplicates, the seeded split, an unknown format said in words."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from anyllm_desktop.core.dataset_formats import format_for, read_dataset, write_dataset
from anyllm_desktop.core.datasets import (
    Dataset,
    DatasetError,
    Example,
    Turn,
    deduplicate,
    drop_too_long,
    held_out_count,
    split,
)
from anyllm_desktop.core.paths import AppPaths
from anyllm_desktop.services.datasets import DatasetStore
from anyllm_desktop.services.workflows.results import Citation, Row, WorkflowResult
from anyllm_desktop.services.workflows.runs import RunRecord

DATA = Path(__file__).parent.parent / "training_data"


def problems(dataset: Dataset) -> list[str]:
    return [str(p) for p in dataset.problems]


def test_openai_jsonl_rows_and_the_bad_lines_by_number() -> None:
    dataset = read_dataset(DATA / "chat.jsonl")
    assert [e.row for e in dataset.examples] == [1, 2, 3, 6, 7, 9]
    assert problems(dataset) == [
        "chat.jsonl row 4: not JSON (Expecting ',' delimiter, column 179)",
        "chat.jsonl row 5: the last turn is the user's, not the assistant's answer",
    ]
    first = dataset.examples[0]
    assert first.system == "You answer questions about the office."
    assert (first.prompt, first.answer) == (
        "When is the team meeting?",
        "Tuesday at 10:00 in room 4.",
    )
    assert dataset.examples[3].answer == "One hour."  # content given as a list of text parts


def test_alpaca_combines_instruction_and_input_and_names_bad_items() -> None:
    dataset = read_dataset(DATA / "alpaca.json")
    assert [e.prompt for e in dataset.examples] == [
        "Name the capital of France.", "Translate to German.\n\nGood morning", "What is 2 + 2?"
    ]  # fmt: skip
    assert dataset.examples[2].system == "You are a careful calculator."
    assert problems(dataset) == ['alpaca.json row 3: the answer is empty',
                                 'alpaca.json row 5: no "output" (the answer)']  # fmt: skip


def test_sharegpt_multi_turn_and_unknown_speakers() -> None:
    dataset = read_dataset(DATA / "sharegpt.json")
    assert len(dataset.examples) == 2
    assert [t.role for t in dataset.examples[1].messages] == [
        "system", "user", "assistant", "user", "assistant"]  # fmt: skip
    assert problems(dataset) == [
        "sharegpt.json row 3: turn 2 is from 'bot', not human, gpt or system",
        "sharegpt.json row 4: the conversation starts with the assistant, not with a question",
    ]


def test_csv_says_which_columns_it_read_and_counts_rows_as_a_spreadsheet() -> None:
    dataset = read_dataset(DATA / "pairs.csv")
    assert dataset.notes == ["pairs.csv: read the 'question' column as the prompt and 'answer' "
                             "as the answer"]  # fmt: skip
    assert [e.row for e in dataset.examples] == [2, 3, 5]
    assert dataset.examples[1].prompt == "How many legs\ndoes a spider have?"
    assert problems(dataset) == ["pairs.csv row 4: the answer is empty"]


def test_csv_without_a_known_column_pair_names_its_header(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_text("title,body\na,b\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"table.csv: no prompt and response columns in its "
                       r"header \(title, body\); name them one of prompt/response"):  # fmt: skip
        read_dataset(path)


def test_an_unknown_format_is_refused_with_what_was_found(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"notes.json: its first record has title, text, which "
                       r"is none of OpenAI chat JSONL"):  # fmt: skip
        read_dataset(DATA / "notes.json")
    text = tmp_path / "readme.txt"
    text.write_text("Just some prose.\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"readme.txt is not a dataset anyllm reads"):
        read_dataset(text)
    binary = tmp_path / "data.jsonl"
    binary.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(DatasetError, match=r"data.jsonl is not UTF-8 text"):
        read_dataset(binary)


def test_one_pretty_printed_object_is_one_row_and_a_broken_list_says_where(
    tmp_path: Path,
) -> None:
    single = tmp_path / "one.json"
    single.write_text('{\n "instruction": "Hi?",\n "output": "Hello."\n}\n', encoding="utf-8")
    assert [e.answer for e in read_dataset(single).examples] == ["Hello."]
    broken = tmp_path / "broken.json"
    broken.write_text('[\n {"instruction": "Hi?", "output": "Hello."},\n {"instr\n', "utf-8")
    with pytest.raises(DatasetError, match=r"broken.json is not valid JSON \(line 3: "):
        read_dataset(broken, "alpaca")


@pytest.mark.parametrize("name", ["out.jsonl", "out.json", "out.sharegpt.json", "out.csv"])
def test_each_format_is_written_and_read_back_the_same(tmp_path: Path, name: str) -> None:
    examples = read_dataset(DATA / "chat.jsonl").examples
    if name.endswith(".csv"):
        examples = [e for e in examples if sum(t.role == "user" for t in e.messages) == 1]
    else:
        examples += read_dataset(DATA / "sharegpt.json").examples  # a multi-turn one too
    write_dataset(examples, tmp_path / name)
    again = read_dataset(tmp_path / name)
    assert again.problems == []
    assert [e.messages for e in again.examples] == [e.messages for e in examples]


def test_csv_refuses_a_multi_turn_example_and_an_unknown_ending(tmp_path: Path) -> None:
    examples = read_dataset(DATA / "sharegpt.json").examples
    with pytest.raises(DatasetError, match=r"sharegpt.json row 2 has several turns"):
        write_dataset(examples, tmp_path / "out.csv")
    with pytest.raises(DatasetError, match=r"out.txt: write .jsonl \(OpenAI chat\)"):
        format_for(tmp_path / "out.txt")


def test_duplicates_ignore_case_and_spacing_and_are_counted() -> None:
    dataset = read_dataset(DATA / "chat.jsonl")
    assert deduplicate(dataset) == 1
    assert [e.row for e in dataset.examples] == [1, 2, 3, 6, 9]  # row 7 repeated row 2
    assert dataset.notes == ["dropped 1 duplicate (the same question and answer as an earlier "
                             "row, ignoring case and spacing)"]  # fmt: skip
    # The same words split differently between question and answer are not the same example.
    assert Example((Turn("user", "a b"), Turn("assistant", "c"))).key() != Example(
        (Turn("user", "a"), Turn("assistant", "b c"))).key()  # fmt: skip


def pair(number: int) -> Example:
    return Example((Turn("user", f"Question {number}?"), Turn("assistant", f"Answer {number}.")),
                   "made.jsonl", number)  # fmt: skip


def test_split_is_seeded_independent_of_order_and_holds_one_out_from_five() -> None:
    examples = [pair(n) for n in range(40)]
    train, held = split(examples, 0.1, seed=7)
    assert len(held) == 4 and len(train) == 36 and not set(train) & set(held)
    assert split(list(reversed(examples)), 0.1, seed=7)[1] == list(reversed(held))
    assert split(examples, 0.1, seed=8)[1] != held
    assert [held_out_count(n) for n in (1, 4, 5, 14, 15, 100)] == [0, 0, 1, 1, 2, 10]
    assert held_out_count(2, 0.9) == 1  # something is always left to train on
    with pytest.raises(ValueError, match="held-out share must be from 0 to below 1"):
        held_out_count(10, 1.0)


def test_rows_too_long_for_the_context_are_reported_by_row() -> None:
    dataset = Dataset([pair(1), Example((Turn("user", "long " * 50), Turn("assistant", "ok")),
                                        "made.jsonl", 2)])  # fmt: skip
    dropped = drop_too_long(dataset, lambda e: sum(len(t.content.split()) for t in e.messages), 20)
    assert dropped == 1 and [e.row for e in dataset.examples] == [1]
    assert problems(dataset) == [
        "made.jsonl row 2: 51 tokens, longer than the model's context "
        "of 20 (shorten it, or train a model with a longer context)"
    ]


def faq_run(rows: list[Row], workflow: str = "faq-pairs") -> RunRecord:
    result = WorkflowResult(workflow, "Question and answer pairs", ["question", "answer"], rows)
    return RunRecord(workflow, "Question and answer pairs", "faq.yaml", "done", 0.0,
                     result=result, id=3)  # fmt: skip


def qa_row(document: str, question: str, answer: str, status: str = "done") -> Row:
    return Row(
        document,
        Citation(document, sections=("Intro",)),
        {"question": question, "answer": answer},
        status,
        "no JSON" * (status != "done"),
    )


def test_a_faq_run_becomes_examples_with_its_documents_as_sources(anyllm_home: Path) -> None:
    record = faq_run(
        [
            qa_row("a.md", "Who?", "Ann."),
            qa_row("b.md", "When?", "", "done"),
            qa_row("c.md", "", "", "skipped"),
            qa_row("d.md", "Where?", "Here."),
        ]
    )
    store = DatasetStore(AppPaths(anyllm_home))
    card = store.build_from_run("faq", "w", record)
    assert card.counts == {"examples": 2, "train": 2, "held_out": 0, "problems": 2,
                           "duplicates": 0}  # fmt: skip
    assert card.problems == ["run 3 row 2: b.md: the answer is empty",
                             "run 3 row 3: c.md: skipped by the workflow (no JSON)"]  # fmt: skip
    stored = store.load("faq")
    assert [(e.prompt, e.answer, e.source, e.row) for e in stored.examples] == [
        ("Who?", "Ann.", "a.md, Intro", 1), ("Where?", "Here.", "d.md, Intro", 4)]  # fmt: skip
    data = (store.root / "faq" / "examples.jsonl").read_bytes()
    assert card.sha256 == hashlib.sha256(data).hexdigest() == store.card("faq").sha256


def test_a_run_without_pairs_or_result_is_refused_with_what_to_run(anyllm_home: Path) -> None:
    store = DatasetStore(AppPaths(anyllm_home))
    rows = [Row("a.md", Citation("a.md"), {"sentiment": "positive"})]
    with pytest.raises(
        DatasetError,
        match=r"whose rows have no question and answer: build a "
        r"dataset from a run of the FAQ workflow \(anyllm run faq-pairs",
    ):
        store.build_from_run("x", "w", faq_run(rows, "sentiment-table"))
    failed = RunRecord("faq-pairs", "FAQ", "faq.yaml", "failed", 0.0, error="model gone", id=4)
    with pytest.raises(DatasetError, match=r"run 4 \(FAQ\) failed without a result, so there are "
                       r"no pairs to use: model gone"):  # fmt: skip
        store.build_from_run("x", "w", failed)
    assert store.names() == []


def test_the_store_keeps_the_split_refuses_clashes_and_replaces_whole(anyllm_home: Path) -> None:
    store = DatasetStore(AppPaths(anyllm_home))
    card = store.import_files("office", [DATA / "chat.jsonl", DATA / "pairs.csv"], seed=3)
    stored = store.load("office")
    expected = split(stored.examples, 0.1, seed=3)
    assert (stored.train, stored.held_out) == expected and card.counts["held_out"] == 1
    with pytest.raises(DatasetError, match="there is a dataset 'office' already"):
        store.import_files("office", [DATA / "alpaca.json"])
    with pytest.raises(DatasetError, match="cannot be a dataset's name"):
        store.import_files("../up", [DATA / "alpaca.json"])
    store.import_files("office", [DATA / "alpaca.json"], replace=True)
    assert store.card("office").counts["examples"] == 3 and store.names() == ["office"]
    assert sorted(p.name for p in store.root.iterdir()) == ["office"]  # no staging left behind
    store.delete("office")
    with pytest.raises(KeyError, match=r"There is no dataset 'office' \(datasets: none yet\)"):
        store.load("office")
