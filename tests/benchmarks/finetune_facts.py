"""Facts from one real document (tests/data/debian-faq-archives.html, the Debian FAQ's chapter
on the archives) as question/answer pairs, with a paraphrase of each question and the words an
answer must hold to state the fact. Used by bench_finetune.py."""

from __future__ import annotations

from typing import NamedTuple


class Fact(NamedTuple):
    question: str
    answer: str
    #: Each of these (case aside) must be in an answer that states the fact.
    keys: tuple[str, ...]
    paraphrase: str


_RELEASES = [("buzz", "1.1"), ("rex", "1.2"), ("bo", "1.3"), ("hamm", "2.0"), ("slink", "2.1"),
             ("potato", "2.2"), ("woody", "3.0"), ("sarge", "3.1"), ("etch", "4.0"),
             ("lenny", "5.0"), ("squeeze", "6.0"), ("wheezy", "7"), ("jessie", "8"),
             ("stretch", "9"), ("buster", "10"), ("bullseye", "11"),
             ("bookworm", "12")]  # fmt: skip
_TOYS = [("buzz", "the spaceman Buzz Lightyear", "Lightyear"),
         ("rex", "the tyrannosaurus", "tyrannosaurus"),
         ("bo", "Bo Peep, the girl who took care of the sheep", "Peep"),
         ("hamm", "the piggy bank", "piggy bank"), ("slink", "Slinky Dog, the toy dog", "Slinky"),
         ("potato", "Mr. Potato", "Potato"), ("woody", "the cowboy", "cowboy"),
         ("sarge", "the sergeant of the Green Plastic Army Men", "sergeant"),
         ("etch", "the toy whiteboard Etch-a-Sketch", "whiteboard"),
         ("lenny", "the toy binoculars", "binoculars"),
         ("squeeze", "the three-eyed aliens", "aliens"),
         ("wheezy", "the rubber toy penguin with a red bow tie", "penguin"),
         ("jessie", "the yodeling cowgirl", "cowgirl"),
         ("stretch", "the rubber toy octopus", "octopus"), ("buster", "Andy's pet dog", "dog"),
         ("bullseye", "Woody's wooden toy horse", "horse"),
         ("bookworm", "a green toy worm with a built-in flashlight", "worm"),
         ("trixie", "a blue plastic triceratops", "triceratops"),
         ("sid", "the evil neighbor kid who broke all toys", "neighbor")]  # fmt: skip

FACTS: list[Fact] = [
    *(Fact(f"Which Debian release was codenamed {name}?",
           f"{name.capitalize()} was the codename of Debian {version}.", (version,),
           f"What version number did the Debian codename {name} stand for?")
      for name, version in _RELEASES),
    *(Fact(f"Who was {name} in Toy Story, the film Debian took the name from?",
           f"In Toy Story, {name} was {toy}.", (key,),
           f"Which Toy Story character is the Debian codename {name} named after?")
      for name, toy, key in _TOYS),
    Fact("Who decided that Debian codenames come from Toy Story?",
         "Bruce Perens, then the Debian Project Leader, who also worked at Pixar.", ("Perens",),
         "Which Debian Project Leader chose the Toy Story names?"),
    Fact("What is Debian unstable a permanent symbolic link to?",
         "Unstable is a permanent symbolic link to sid.", ("sid",),
         "Which codename does unstable always point to?"),
    Fact("Which directory of a Debian mirror holds the actual packages?",
         "The pool directory holds the actual packages.", ("pool",),
         "Where on a Debian mirror are the package files themselves kept?"),
    Fact("What is the release goal that means no critical, grave or serious bugs?",
         "The release goal NoRCBugs: no bugs of severity critical, grave or serious.",
         ("NoRCBugs",), "Which release goal asks for no release-critical bugs?"),
]  # fmt: skip
