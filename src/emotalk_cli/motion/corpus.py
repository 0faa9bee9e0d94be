"""The motion model's training corpus: TTS speech with exact phone timings -> motion, in shards.

    python -m emotalk_cli.motion.corpus --out build/corpus --sentences 2000 --seed 0

Each utterance: a sentence from a small per-language grammar (en de fr es it pt nl pl), spoken by a
voice of flite (English), espeak-ng (every language, many variants) or, when asked for with
`--festival-share`, festival (English: a third speaker, ked, besides flite's) at a random rate and pitch;
train utterances get speed perturbation (timings scaled to match) and audio augmentation
(`augment.py`), eval utterances stay clean. From the phone timings: the coarticulated viseme mouth
track (`visemes.py`, the lip-sync reference), an EMFACS emotion AU layer with onset/apex/offset,
blinks, head motion following loudness, gaze saccades (`layers.py`), all at 25 fps, audio at 16 kHz.

Split by voice: flite `rms` and espeak-ng's variant `f4` (all languages) never speak in train;
about `eval_fraction` of the utterances are spoken by them and written to eval-*.safetensors.

Output: `train-00000.safetensors`, ... and `eval-00000.safetensors` (layout in `write_shard`, read
with `load_shard`), a `.json` of each shard's metadata beside it (voices, languages, fps, sample rate,
split, one record per utterance: text, voice, phones, emotion, augmentation), and `index.json`.

Measured here (2 cores, 2 workers; `index.json` records it for every run): 900-1900 utterances
a minute (the lower figure with other jobs on the machine): 200 sentences in 7-14 s -> 25 MB,
544 s of audio (182 train, 18 eval); 2000 sentences in 2 min 15 s -> 238 MB, 5280 s (88 min) of
audio, 9 shards, 0.7 GB peak memory. A shard of 250 utterances is ~30 MB (audio int16 is most of it).

Sentences: the grammar below was written for this project (no borrowed corpus).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
import torchaudio.functional as AF
from safetensors.torch import save_file

from emotalk_cli import facs
from emotalk_cli.artifacts import atomic_output, read_safetensors
from emotalk_cli.errors import EmotalkError
from emotalk_cli.facs import ARKIT_NAMES
from emotalk_cli.motion.augment import augment, change_speed
from emotalk_cli.motion.layers import EMOTION_CHOICES, blink_track, compose, emotion_layer, gaze_track, head_motion, speech_energy
from emotalk_cli.motion.tts import FESTIVAL_VOICES, TTSError, available_engines, speak
from emotalk_cli.motion.visemes import VISEME_INDEX, VISEMES, frame_count, mouth_track, phone_visemes

# ---------------------------------------------------------------------------------------------
# Sentences: [opener] subject predicate [adverbial], questions and numbers. Built for phonetic
# variety (every viseme; bilabials and rounded vowels often), not literature.

# Each language: subjects (3rd person singular or names), predicates agreeing with them,
# adverbials, openers, question frames with {s} for a subject and {p} for a predicate, number words.
GRAMMAR: dict[str, dict[str, list[str]]] = {
    "en": {
        "subject": ["my brother", "the old fisherman", "a little boy", "the baker", "our neighbour", "Maria",
                    "the teacher", "Peter", "the doctor", "my mother", "a tired musician", "the pilot",
                    "your cousin", "the manager", "Bob", "the young poet", "Emma", "the farmer", "this woman",
                    "the mayor", "a quiet student", "the shop keeper"],
        "predicate": ["bought a blue umbrella", "plays the violin", "opened the window", "made a map of the park",
                      "forgot the keys", "paints the fence white", "moves to Boston", "reads the morning paper",
                      "fixed the broken bike", "wants more coffee", "booked a room by the beach",
                      "loves warm bread and butter", "picked up the phone", "watches the football match",
                      "sold the boat", "mopped the kitchen floor", "brought fresh fruit", "called the police",
                      "showed us the photographs", "jumped over the puddle", "measured the old rope",
                      "found a wallet", "whispered something", "cooked fish with lemon", "visited the museum"],
        "adverbial": ["yesterday", "every Monday", "in the evening", "before lunch", "after the storm",
                      "without a word", "very quickly", "at the station", "by the river", "this morning",
                      "in the big city", "on Friday", "with a smile", "for the first time", "again"],
        "opener": ["well,", "oh,", "honestly,", "you know,", "look,", "by the way,", "maybe", "I think",
                   "of course", "apparently"],
        "question": ["did {s} really say that?", "why does {s} look so worried?", "where is {s} now?",
                     "has {s} {p}?", "who told {s} about the party?", "what will {s} do next week?"],
        "number": ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                   "twenty", "fifty", "a hundred"],
        "count": ["I counted {n} boats", "we need {n} more chairs", "it costs {n} pounds",
                  "the bus leaves in {n} minutes"],
    },
    "de": {
        "subject": ["mein Bruder", "der alte Fischer", "ein kleiner Junge", "die Bäckerin", "unser Nachbar",
                    "Maria", "die Lehrerin", "Peter", "der Arzt", "meine Mutter", "ein müder Musiker",
                    "die Pilotin", "dein Cousin", "der Bürgermeister", "Emma", "die Bäuerin"],
        "predicate": ["kaufte einen blauen Schirm", "spielt Geige", "öffnete das Fenster", "malt den Zaun weiß",
                      "vergaß die Schlüssel", "liest die Morgenzeitung", "reparierte das Fahrrad",
                      "möchte mehr Kaffee", "liebt warmes Brot mit Butter", "verkaufte das Boot",
                      "wischte den Küchenboden", "brachte frisches Obst", "rief die Polizei",
                      "zeigte uns die Fotos", "sprang über die Pfütze", "fand eine Geldbörse",
                      "kochte Fisch mit Zitrone", "besuchte das Museum", "baute ein Haus am Meer"],
        "adverbial": ["gestern", "jeden Montag", "am Abend", "vor dem Mittagessen", "nach dem Sturm",
                      "ohne ein Wort", "sehr schnell", "am Bahnhof", "am Fluss", "heute Morgen",
                      "in der großen Stadt", "am Freitag", "mit einem Lächeln", "zum ersten Mal"],
        "opener": ["also,", "oh,", "ehrlich gesagt,", "weißt du,", "schau mal,", "übrigens,", "vielleicht",
                   "natürlich"],
        "question": ["hat {s} das wirklich gesagt?", "warum sieht {s} so besorgt aus?", "wo ist {s} jetzt?",
                     "wer hat {s} von der Party erzählt?", "was macht {s} nächste Woche?"],
        "number": ["eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn",
                   "zwanzig", "fünfzig", "hundert"],
        "count": ["ich habe {n} Boote gezählt", "wir brauchen {n} Stühle", "das kostet {n} Euro",
                  "der Bus fährt in {n} Minuten"],
    },
    "fr": {
        "subject": ["mon frère", "le vieux pêcheur", "un petit garçon", "la boulangère", "notre voisin", "Marie",
                    "la maîtresse", "Pierre", "le médecin", "ma mère", "un musicien fatigué", "la pilote",
                    "ton cousin", "le maire", "Emma", "la fermière"],
        "predicate": ["a acheté un parapluie bleu", "joue du violon", "a ouvert la fenêtre",
                      "peint la barrière en blanc", "a oublié les clés", "lit le journal du matin",
                      "a réparé le vélo", "veut plus de café", "aime le pain chaud et le beurre",
                      "a vendu le bateau", "a lavé le sol de la cuisine", "a apporté des fruits frais",
                      "a appelé la police", "nous a montré les photos", "a sauté par-dessus la flaque",
                      "a trouvé un portefeuille", "a cuisiné du poisson au citron", "a visité le musée"],
        "adverbial": ["hier", "chaque lundi", "le soir", "avant le déjeuner", "après la tempête", "sans un mot",
                      "très vite", "à la gare", "au bord de la rivière", "ce matin", "dans la grande ville",
                      "vendredi", "avec un sourire", "pour la première fois"],
        "opener": ["bon,", "oh,", "franchement,", "tu sais,", "regarde,", "au fait,", "peut-être que",
                   "bien sûr,"],
        "question": ["est-ce que {s} a vraiment dit ça?", "pourquoi {s} a l'air si inquiet?", "où est {s}?",
                     "qui a parlé de la fête à {s}?", "que fera {s} la semaine prochaine?"],
        "number": ["un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "vingt",
                   "cinquante", "cent"],
        "count": ["j'ai compté {n} bateaux", "il nous faut {n} chaises", "ça coûte {n} euros",
                  "le bus part dans {n} minutes"],
    },
    "es": {
        "subject": ["mi hermano", "el viejo pescador", "un niño pequeño", "la panadera", "nuestro vecino",
                    "María", "la maestra", "Pedro", "el médico", "mi madre", "un músico cansado", "la piloto",
                    "tu primo", "el alcalde", "Emma", "la campesina"],
        "predicate": ["compró un paraguas azul", "toca el violín", "abrió la ventana", "pinta la valla de blanco",
                      "olvidó las llaves", "lee el periódico de la mañana", "arregló la bicicleta",
                      "quiere más café", "ama el pan caliente con mantequilla", "vendió el barco",
                      "fregó el suelo de la cocina", "trajo fruta fresca", "llamó a la policía",
                      "nos mostró las fotos", "saltó sobre el charco", "encontró una cartera",
                      "cocinó pescado con limón", "visitó el museo"],
        "adverbial": ["ayer", "cada lunes", "por la tarde", "antes del almuerzo", "después de la tormenta",
                      "sin decir nada", "muy rápido", "en la estación", "junto al río", "esta mañana",
                      "en la gran ciudad", "el viernes", "con una sonrisa", "por primera vez"],
        "opener": ["bueno,", "oh,", "sinceramente,", "sabes,", "mira,", "por cierto,", "quizás", "claro,"],
        "question": ["¿de verdad {s} dijo eso?", "¿por qué {s} parece tan preocupado?", "¿dónde está {s}?",
                     "¿quién le habló a {s} de la fiesta?", "¿qué hará {s} la semana que viene?"],
        "number": ["uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez", "veinte",
                   "cincuenta", "cien"],
        "count": ["conté {n} barcos", "necesitamos {n} sillas", "cuesta {n} euros",
                  "el autobús sale en {n} minutos"],
    },
    "it": {
        "subject": ["mio fratello", "il vecchio pescatore", "un bambino", "la fornaia", "il nostro vicino",
                    "Maria", "la maestra", "Pietro", "il medico", "mia madre", "un musicista stanco",
                    "la pilota", "tuo cugino", "il sindaco", "Emma", "la contadina"],
        "predicate": ["ha comprato un ombrello blu", "suona il violino", "ha aperto la finestra",
                      "dipinge la staccionata di bianco", "ha dimenticato le chiavi", "legge il giornale",
                      "ha riparato la bicicletta", "vuole altro caffè", "ama il pane caldo col burro",
                      "ha venduto la barca", "ha lavato il pavimento", "ha portato frutta fresca",
                      "ha chiamato la polizia", "ci ha mostrato le foto", "ha saltato la pozzanghera",
                      "ha trovato un portafoglio", "ha cucinato pesce al limone", "ha visitato il museo"],
        "adverbial": ["ieri", "ogni lunedì", "la sera", "prima di pranzo", "dopo la tempesta", "senza una parola",
                      "molto in fretta", "alla stazione", "vicino al fiume", "stamattina", "nella grande città",
                      "venerdì", "con un sorriso", "per la prima volta"],
        "opener": ["allora,", "oh,", "sinceramente,", "sai,", "guarda,", "a proposito,", "forse", "certo,"],
        "question": ["{s} ha detto davvero così?", "perché {s} sembra così preoccupato?", "dov'è {s} adesso?",
                     "chi ha parlato della festa a {s}?", "cosa farà {s} la settimana prossima?"],
        "number": ["uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove", "dieci", "venti",
                   "cinquanta", "cento"],
        "count": ["ho contato {n} barche", "servono {n} sedie", "costa {n} euro", "il bus parte tra {n} minuti"],
    },
    "pt": {
        "subject": ["o meu irmão", "o velho pescador", "um menino", "a padeira", "o nosso vizinho", "Maria",
                    "a professora", "Pedro", "o médico", "a minha mãe", "um músico cansado", "a piloto",
                    "o teu primo", "o presidente da câmara", "Ema", "a agricultora"],
        "predicate": ["comprou um guarda-chuva azul", "toca violino", "abriu a janela", "pinta a cerca de branco",
                      "esqueceu as chaves", "lê o jornal da manhã", "consertou a bicicleta", "quer mais café",
                      "adora pão quente com manteiga", "vendeu o barco", "lavou o chão da cozinha",
                      "trouxe fruta fresca", "chamou a polícia", "mostrou-nos as fotografias",
                      "saltou por cima da poça", "encontrou uma carteira", "cozinhou peixe com limão",
                      "visitou o museu"],
        "adverbial": ["ontem", "todas as segundas", "à noite", "antes do almoço", "depois da tempestade",
                      "sem uma palavra", "muito depressa", "na estação", "junto ao rio", "esta manhã",
                      "na grande cidade", "na sexta-feira", "com um sorriso", "pela primeira vez"],
        "opener": ["bem,", "oh,", "sinceramente,", "sabes,", "olha,", "a propósito,", "talvez", "claro,"],
        "question": ["{s} disse mesmo isso?", "porque é que {s} parece tão preocupado?", "onde está {s}?",
                     "quem falou da festa a {s}?", "o que vai {s} fazer na próxima semana?"],
        "number": ["um", "dois", "três", "quatro", "cinco", "seis", "sete", "oito", "nove", "dez", "vinte",
                   "cinquenta", "cem"],
        "count": ["contei {n} barcos", "precisamos de {n} cadeiras", "custa {n} euros",
                  "o autocarro parte daqui a {n} minutos"],
    },
    "nl": {
        "subject": ["mijn broer", "de oude visser", "een kleine jongen", "de bakker", "onze buurman", "Maria",
                    "de juf", "Pieter", "de dokter", "mijn moeder", "een moeë muzikant", "de piloot",
                    "jouw neef", "de burgemeester", "Emma", "de boerin"],
        "predicate": ["kocht een blauwe paraplu", "speelt viool", "opende het raam", "schildert het hek wit",
                      "vergat de sleutels", "leest de ochtendkrant", "repareerde de fiets", "wil meer koffie",
                      "houdt van warm brood met boter", "verkocht de boot", "dweilde de keukenvloer",
                      "bracht vers fruit mee", "belde de politie", "liet ons de foto's zien",
                      "sprong over de plas", "vond een portemonnee", "kookte vis met citroen",
                      "bezocht het museum"],
        "adverbial": ["gisteren", "elke maandag", "'s avonds", "voor de lunch", "na de storm", "zonder een woord",
                      "heel snel", "op het station", "bij de rivier", "vanochtend", "in de grote stad",
                      "op vrijdag", "met een glimlach", "voor het eerst"],
        "opener": ["nou,", "oh,", "eerlijk gezegd,", "weet je,", "kijk,", "trouwens,", "misschien", "natuurlijk"],
        "question": ["heeft {s} dat echt gezegd?", "waarom kijkt {s} zo bezorgd?", "waar is {s} nu?",
                     "wie heeft {s} over het feest verteld?", "wat gaat {s} volgende week doen?"],
        "number": ["een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen", "tien", "twintig",
                   "vijftig", "honderd"],
        "count": ["ik telde {n} boten", "we hebben {n} stoelen nodig", "het kost {n} euro",
                  "de bus vertrekt over {n} minuten"],
    },
    "pl": {
        "subject": ["mój brat", "stary rybak", "mały chłopiec", "piekarka", "nasz sąsiad", "Maria",
                    "nauczycielka", "Piotr", "lekarz", "moja mama", "zmęczony muzyk", "pilotka", "twój kuzyn",
                    "burmistrz", "Ewa", "rolniczka"],
        "predicate": ["kupił niebieski parasol", "gra na skrzypcach", "otworzył okno", "maluje płot na biało",
                      "zapomniał kluczy", "czyta poranną gazetę", "naprawił rower", "chce więcej kawy",
                      "lubi ciepły chleb z masłem", "sprzedał łódź", "umył podłogę w kuchni",
                      "przyniósł świeże owoce", "zadzwonił na policję", "pokazał nam zdjęcia",
                      "przeskoczył przez kałużę", "znalazł portfel", "ugotował rybę z cytryną",
                      "odwiedził muzeum"],
        "adverbial": ["wczoraj", "w każdy poniedziałek", "wieczorem", "przed obiadem", "po burzy", "bez słowa",
                      "bardzo szybko", "na dworcu", "nad rzeką", "dziś rano", "w wielkim mieście", "w piątek",
                      "z uśmiechem", "po raz pierwszy"],
        "opener": ["no,", "och,", "szczerze mówiąc,", "wiesz,", "patrz,", "przy okazji,", "może", "oczywiście"],
        "question": ["czy {s} naprawdę to powiedział?", "dlaczego {s} wygląda na zmartwionego?",
                     "gdzie jest teraz {s}?", "kto powiedział {s} o przyjęciu?",
                     "co {s} zrobi w przyszłym tygodniu?"],
        "number": ["jeden", "dwa", "trzy", "cztery", "pięć", "sześć", "siedem", "osiem", "dziewięć", "dziesięć",
                   "dwadzieścia", "pięćdziesiąt", "sto"],
        "count": ["naliczyłem {n} łodzi", "potrzebujemy {n} krzeseł", "to kosztuje {n} złotych",
                  "autobus odjeżdża za {n} minut"],
    },
}
LANGUAGES: tuple[str, ...] = tuple(GRAMMAR)


def _pick(rng: np.random.Generator, items: list[str]) -> str:
    return items[int(rng.integers(len(items)))]


def sentence(language: str, rng: np.random.Generator) -> str:
    """One sentence in `language` (a key of GRAMMAR), drawn with `rng`."""
    if language not in GRAMMAR:
        raise ValueError(f"no grammar for language {language!r}: one of {', '.join(LANGUAGES)}")
    g = GRAMMAR[language]
    kind = rng.random()
    if kind < 0.15:
        text = _pick(rng, g["question"]).format(s=_pick(rng, g["subject"]), p=_pick(rng, g["predicate"]))
    elif kind < 0.25:
        text = _pick(rng, g["count"]).format(n=_pick(rng, g["number"])) + "."
    else:
        parts = []
        if rng.random() < 0.3:
            parts.append(_pick(rng, g["opener"]))
        parts += [_pick(rng, g["subject"]), _pick(rng, g["predicate"])]
        if rng.random() < 0.7:
            parts.append(_pick(rng, g["adverbial"]))
        if rng.random() < 0.25:  # a second clause makes longer utterances
            parts[-1] += ","
            parts += [_pick(rng, g["subject"]), _pick(rng, g["predicate"])]
        text = " ".join(parts) + ("!" if rng.random() < 0.1 else ".")
    return text[0].upper() + text[1:] if text[0] != "¿" else text[:1] + text[1].upper() + text[2:]


# ---------------------------------------------------------------------------------------------
# Voices and splits

FLITE_TRAIN: tuple[str, ...] = ("kal", "kal16", "awb", "slt")
FLITE_EVAL: tuple[str, ...] = ("rms",)
ESPEAK_LANGUAGE_VOICES: dict[str, tuple[str, ...]] = {  # espeak-ng voice names per corpus language
    "en": ("en", "en-us"), "de": ("de",), "fr": ("fr",), "es": ("es",), "it": ("it",), "pt": ("pt", "pt-br"),
    "nl": ("nl",), "pl": ("pl",),
}
ESPEAK_TRAIN_VARIANTS: tuple[str, ...] = ("", "m1", "m2", "m4", "m5", "m7", "f1", "f2", "f3", "f5", "klatt", "Andy", "Annie")
ESPEAK_EVAL_VARIANTS: tuple[str, ...] = ("f4",)
LANGUAGE_WEIGHTS: dict[str, float] = {"en": 0.34, **{lang: 0.66 / 7 for lang in LANGUAGES if lang != "en"}}


FLITE_SHARE = 0.5  # of English utterances, spoken by flite (more natural than espeak-ng's formant voices)
FESTIVAL_TRAIN: tuple[str, ...] = ("ked", "kal", "slt")  # festival voices (training only; ked is a speaker no other engine has)


def voices_for(language: str, split: str, engine: str | None = None) -> list[str]:
    """The voices that speak `language` in `split` ("train" or "eval"), of `engine` or both;
    the held-out voices only in eval."""
    flite = FLITE_TRAIN if split == "train" else FLITE_EVAL
    variants = ESPEAK_TRAIN_VARIANTS if split == "train" else ESPEAK_EVAL_VARIANTS
    voices = [f"flite:{v}" for v in flite] if language == "en" and engine in (None, "flite") else []
    if language == "en" and split == "train" and engine == "festival":  # asked for by name only (festival_share)
        voices += [f"festival:{v}" for v in FESTIVAL_TRAIN]
    if engine in (None, "espeak"):
        for base in ESPEAK_LANGUAGE_VOICES[language]:
            voices += [f"espeak:{base}+{v}" if v else f"espeak:{base}" for v in variants]
    return voices


# ---------------------------------------------------------------------------------------------
# One utterance


@dataclass(frozen=True)
class CorpusConfig:
    fps: float = 25.0  # motion frames per second (frame k at k / fps)
    sample_rate: int = 16_000  # the motion model's audio rate
    eval_fraction: float = 0.1  # share of utterances spoken by the held-out voices
    speech_rate: tuple[float, float] = (0.8, 1.25)  # TTS speaking rate factor
    p_speed: float = 0.3  # train only: resampling speed perturbation, timings scaled to match
    speed: tuple[float, float] = (0.9, 1.1)
    articulation: tuple[float, float] = (0.75, 1.25)  # JALI jaw / lip sliders per utterance
    augment_eval: bool = False  # eval audio stays clean (the held-out voices are the test)
    festival_share: float = 0.0  # of English training utterances, spoken by festival (needs festival installed)


def english_engine(u: float, split: str, festival_share: float = 0.0) -> str:
    """The TTS engine of an English utterance from a uniform draw u in [0, 1): festival for the first
    `festival_share` (training only), then flite and espeak-ng in FLITE_SHARE proportions."""
    share = festival_share if split == "train" else 0.0
    if u < share:
        return "festival"
    return "flite" if u < share + (1.0 - share) * FLITE_SHARE else "espeak"


def make_utterance(job: tuple[int, int, CorpusConfig, tuple[str, ...]]) -> dict:
    """(index, seed, config, languages) -> one utterance: arrays and a JSON-able record."""
    index, seed, config, languages = job
    rng = np.random.default_rng([seed, index])
    split = "eval" if rng.random() < config.eval_fraction else "train"
    weights = np.array([LANGUAGE_WEIGHTS[lang] for lang in languages])
    language = str(languages[int(rng.choice(len(languages), p=weights / weights.sum()))])
    engine = english_engine(float(rng.random()), split, config.festival_share) if language == "en" else "espeak"
    voice = str(rng.choice(voices_for(language, split, engine)))
    text = sentence(language, rng)
    rate = float(rng.uniform(*config.speech_rate))
    pitch = float(rng.uniform(25, 75)) if voice.startswith("espeak") else None
    speech = speak(text, voice, rate=rate, pitch=pitch)
    record = {"index": index, "text": text, "language": language, "voice": voice,
              "tts_rate": round(rate, 3), "tts_pitch": None if pitch is None else round(pitch, 1)}
    return speech_utterance(torch.from_numpy(speech.samples), speech.sample_rate, speech.phones, speech.alphabet,
                            split, config, rng, record)


def speech_utterance(wave: torch.Tensor, sample_rate: int, phones: list[tuple[str, float, float]], alphabet: str,
                     split: str, config: CorpusConfig, rng: np.random.Generator, record: dict) -> dict:
    """Speech with its timed phones -> one utterance (arrays and a JSON-able record, `record`'s fields
    first): wave [N] at `sample_rate`; phones [(phone, start s, end s)] in `alphabet` ("ipa" or
    "arpabet"), contiguous from 0 to the end. Train utterances get speed perturbation (timings
    scaled to match) and audio augmentation; the mouth is the coarticulated viseme track, with an
    emotion layer, blinks, head motion and gaze drawn from `rng`."""
    speed = 1.0
    if split == "train" and rng.random() < config.p_speed:
        wave, speed = change_speed(wave, sample_rate, float(rng.uniform(*config.speed)))
        phones = [(p, s / speed, e / speed) for p, s, e in phones]
    clean = AF.resample(wave, sample_rate, config.sample_rate) if sample_rate != config.sample_rate else wave
    duration = len(clean) / config.sample_rate
    phones = [(p, min(s, duration), min(e, duration)) for p, s, e in phones]
    phones[-1] = (phones[-1][0], phones[-1][1], duration)
    augment_info: dict = {}
    if split == "train" or config.augment_eval:
        audio, augment_info = augment(wave, sample_rate, seed=int(rng.integers(2**31)), out_rate=config.sample_rate)
        audio = audio[: len(clean)] if len(audio) >= len(clean) else torch.cat([audio, audio.new_zeros(len(clean) - len(audio))])
    else:
        audio = clean
    frames = frame_count(duration, config.fps)
    jaw, lips = (float(rng.uniform(*config.articulation)) for _ in range(2))
    mouth = mouth_track(phones, config.fps, alphabet, frames, jaw=jaw, lips=lips)
    au, emotion = emotion_layer(frames, config.fps, rng)
    eyes, blinks = blink_track(frames, config.fps, rng)
    energy = speech_energy(clean.numpy(), config.sample_rate, frames, config.fps)
    rotation, translation = head_motion(frames, config.fps, energy, rng)
    gaze = gaze_track(frames, config.fps, rng)
    arkit = compose(mouth, au, eyes)
    times = np.arange(frames) / config.fps
    ends = np.array([e for _, _, e in phones])
    phone_at = np.minimum(np.searchsorted(ends, times, side="right"), len(phones) - 1)
    viseme = np.array([VISEME_INDEX[phone_visemes(phones[i][0], alphabet)[0]] for i in phone_at], np.int8)
    pcm = (audio.clamp(-1, 1) * 32767).round().to(torch.int16).numpy()
    return {
        "split": split,
        "arrays": {
            "audio": pcm, "arkit": arkit, "mouth": mouth, "au": au, "head_rotation": rotation,
            "head_translation": translation, "gaze": gaze, "viseme": viseme,
        },
        "record": {
            **record, "alphabet": alphabet, "seconds": round(duration, 4), "frames": frames, "speed": round(speed, 4),
            "jaw": round(jaw, 3), "lips": round(lips, 3), "augment": augment_info,
            "emotion": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in emotion.items()},
            "blinks": [round(b, 3) for b in blinks],
            "phones": [[p, round(s, 4), round(e, 4)] for p, s, e in phones],
        },
    }


# ---------------------------------------------------------------------------------------------
# Shards

SHARD_FORMAT = "emotalk.motion_corpus"
SHARD_VERSION = 1
FRAME_ARRAYS = ("arkit", "mouth", "au", "head_rotation", "head_translation", "gaze", "viseme")


def write_shard(path: Path, utterances: list[dict], split: str, config: CorpusConfig, command: str) -> dict:
    """Concatenate utterances into one safetensors shard (+ `<name>.json` beside it); returns its meta.

    Tensors: audio [S] int16 at sample_rate; audio_offsets [U+1], frame_offsets [U+1] int64 (utterance
    u is audio[ao[u]:ao[u+1]], frames fo[u]:fo[u+1]); per frame: arkit [F, 52] full motion, mouth
    [F, 52] clean viseme track, au [F, 24] AU prompt (the emotion layer), head_rotation [F, 3] rad,
    head_translation [F, 3] m, gaze [F, 2] rad, viseme [F] int8 (index in VISEMES); per utterance:
    emotion [U] int64 (index in EMOTION_CHOICES), intensity [U] float32.
    """
    audio_offsets = np.cumsum([0] + [len(u["arrays"]["audio"]) for u in utterances])
    frame_offsets = np.cumsum([0] + [u["record"]["frames"] for u in utterances])
    tensors = {
        "audio": torch.from_numpy(np.concatenate([u["arrays"]["audio"] for u in utterances])),
        "audio_offsets": torch.from_numpy(audio_offsets.astype(np.int64)),
        "frame_offsets": torch.from_numpy(frame_offsets.astype(np.int64)),
        "emotion": torch.tensor([EMOTION_CHOICES.index(u["record"]["emotion"]["emotion"]) for u in utterances]),
        "intensity": torch.tensor([u["record"]["emotion"]["intensity"] for u in utterances], dtype=torch.float32),
    }
    for name in FRAME_ARRAYS:
        tensors[name] = torch.from_numpy(np.ascontiguousarray(np.concatenate([u["arrays"][name] for u in utterances])))
    records = [u["record"] for u in utterances]
    meta = {
        "command": command, "split": split, "fps": config.fps, "sample_rate": config.sample_rate,
        "utterances": len(utterances), "seconds": round(sum(r["seconds"] for r in records), 2),
        "voices": sorted({r["voice"] for r in records}), "languages": sorted({r["language"] for r in records}),
        "arkit_names": list(ARKIT_NAMES), "au_names": list(facs.AU_NAMES), "visemes": list(VISEMES),
        "emotions": list(EMOTION_CHOICES), "config": asdict(config), "records": records,
    }
    metadata = {"format": SHARD_FORMAT, "version": str(SHARD_VERSION), "meta": json.dumps(meta)}
    with atomic_output(path, overwrite=True) as temp:
        save_file(tensors, str(temp), metadata=metadata)
    with atomic_output(path.with_suffix(".json"), overwrite=True) as temp:
        temp.write_text(json.dumps(meta, indent=1, ensure_ascii=False))
    return meta


def load_shard(path: str | Path) -> tuple[list[dict], dict]:
    """Read a shard back: (utterances, meta); each utterance has the tensors of `write_shard`
    sliced to it (audio [N] float32 in [-1, 1]) and its record under "record"."""
    tensors, metadata = read_safetensors(path, SHARD_FORMAT, SHARD_VERSION, "python -m emotalk_cli.motion.corpus")
    meta = json.loads(metadata["meta"])
    ao, fo = tensors["audio_offsets"], tensors["frame_offsets"]
    utterances = []
    for u, record in enumerate(meta["records"]):
        item = {name: tensors[name][fo[u]:fo[u + 1]] for name in FRAME_ARRAYS}
        item["audio"] = tensors["audio"][ao[u]:ao[u + 1]].float() / 32767.0
        item["emotion"] = EMOTION_CHOICES[int(tensors["emotion"][u])]
        item["intensity"] = float(tensors["intensity"][u])
        item["record"] = record
        utterances.append(item)
    return utterances, meta


# ---------------------------------------------------------------------------------------------
# The generator


def _init_worker() -> None:
    torch.set_num_threads(1)


def worker_results(function: Callable, jobs: list, workers: int) -> Iterator:
    """function(job) for every job, in order, computed by `workers` processes (forked; one torch
    thread each), or here when workers is 1; the pool closes when the results are used up."""
    if workers <= 1:
        yield from map(function, jobs)
        return
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker)
    try:
        yield from pool.imap(function, jobs, chunksize=2)
    finally:
        pool.close()
        pool.join()


class ShardWriter:
    """Utterances (make_utterance's dicts) -> `out`/{train,eval}-NNNNN.safetensors, a shard written
    each time `shard_size` utterances of a split are in, the rest by `close()`. Where a corpus was
    (an index.json), its shards are dropped just before the first new one is written, so none is
    left stale, and a build that writes nothing leaves it as it was."""

    def __init__(self, out: Path, config: CorpusConfig, command: str, shard_size: int = 250):
        out.mkdir(parents=True, exist_ok=True)
        self.out, self.config, self.command, self.shard_size = out, config, command, shard_size
        self._replacing = (out / "index.json").exists()
        self.buffers: dict[str, list[dict]] = {"train": [], "eval": []}
        self.shards: list[dict] = []  # {"file", "split", "utterances", "seconds"} of each shard written
        self.counts = {"train": 0, "eval": 0}
        self.seconds = {"train": 0.0, "eval": 0.0}

    def add(self, item: dict) -> None:
        split = item["split"]
        self.buffers[split].append(item)
        self.counts[split] += 1
        self.seconds[split] += item["record"]["seconds"]
        if len(self.buffers[split]) >= self.shard_size:
            self._flush(split)

    def _flush(self, split: str) -> None:
        if not self.buffers[split]:
            return
        if self._replacing:
            for stale in [*self.out.glob("train-*.safetensors"), *self.out.glob("eval-*.safetensors")]:
                stale.unlink()
                stale.with_suffix(".json").unlink(missing_ok=True)
            self._replacing = False
        name = f"{split}-{sum(1 for s in self.shards if s['split'] == split):05d}.safetensors"
        meta = write_shard(self.out / name, self.buffers[split], split, self.config, self.command)
        self.shards.append({"file": name, "split": split, "utterances": meta["utterances"], "seconds": meta["seconds"]})
        self.buffers[split] = []

    def close(self) -> list[dict]:
        """Write what is left; the shards written, in order."""
        self._flush("train")
        self._flush("eval")
        return self.shards


def build_corpus(
    out: Path, sentences: int, seed: int = 0, workers: int = 2, shard_size: int = 250,
    languages: tuple[str, ...] = LANGUAGES, config: CorpusConfig = CorpusConfig(), quiet: bool = False,
    command: str = "",
) -> dict:
    """Make `sentences` utterances into `out`/{train,eval}-NNNNN.safetensors and `out`/index.json."""
    unknown = [lang for lang in languages if lang not in GRAMMAR]
    if unknown:
        raise ValueError(f"unknown language(s) {', '.join(unknown)}: choose from {', '.join(LANGUAGES)}")
    engines = available_engines()
    needed = {"flite": "flite", "espeak": "espeak-ng"}
    if config.festival_share > 0 and "en" in languages:
        needed["festival"] = "festival " + " ".join(package for _, package in FESTIVAL_VOICES.values())
    missing = [name for name in needed if not engines.get(name)]
    if missing:
        raise TTSError(f"TTS engine(s) missing: {', '.join(missing)}: apt-get install {' '.join(needed[m] for m in missing)}")
    writer = ShardWriter(out, config, command, shard_size)
    jobs = [(i, seed, config, tuple(languages)) for i in range(sentences)]
    started = time.monotonic()
    for done, item in enumerate(worker_results(make_utterance, jobs, workers), 1):
        writer.add(item)
        if not quiet and (done % 25 == 0 or done == sentences):
            rate = done / (time.monotonic() - started) * 60
            print(f"corpus: {done}/{sentences} utterances ({writer.counts['eval']} eval), {rate:.0f} utterances/min, "
                  f"eta {(sentences - done) / max(rate, 1e-9):.1f} min", file=sys.stderr, flush=True)
    shards = writer.close()
    elapsed = time.monotonic() - started
    index = {
        "format": SHARD_FORMAT, "version": SHARD_VERSION, "command": command, "seed": seed, "sentences": sentences,
        "fps": config.fps, "sample_rate": config.sample_rate, "languages": list(languages),
        "train_voices": sorted({v for lang in languages for v in voices_for(lang, "train")}
                               | ({f"festival:{v}" for v in FESTIVAL_TRAIN} if config.festival_share > 0 and "en" in languages else set())),
        "eval_voices": sorted({v for lang in languages for v in voices_for(lang, "eval")}),
        "utterances": writer.counts, "seconds": {k: round(v, 1) for k, v in writer.seconds.items()},
        "elapsed_s": round(elapsed, 1), "utterances_per_minute": round(sentences / max(elapsed, 1e-9) * 60, 1),
        "workers": workers, "shards": shards,
    }
    with atomic_output(out / "index.json", overwrite=True) as temp:
        temp.write_text(json.dumps(index, indent=1))
    return index


def main(argv: list[str] | None = None) -> int:
    defaults = CorpusConfig()
    parser = argparse.ArgumentParser(prog="python -m emotalk_cli.motion.corpus", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (created; shards in it are replaced)")
    parser.add_argument("--sentences", type=int, default=2000, help="utterances to make (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="seed: the same seed makes the same corpus")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--shard-size", type=int, default=250, help="utterances per shard (default 250)")
    parser.add_argument("--languages", default=",".join(LANGUAGES), help=f"comma-separated (default {','.join(LANGUAGES)})")
    parser.add_argument("--eval-fraction", type=float, default=defaults.eval_fraction,
                        help=f"share spoken by the held-out voices (default {defaults.eval_fraction})")
    parser.add_argument("--fps", type=float, default=defaults.fps, help=f"motion frame rate (default {defaults.fps:g})")
    parser.add_argument("--festival-share", type=float, default=defaults.festival_share,
                        help="share of English training utterances spoken by festival's voices (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.sentences < 1 or args.workers < 1 or args.shard_size < 1:
        parser.error("--sentences, --workers and --shard-size must be at least 1")
    if not 0.0 <= args.festival_share <= 1.0:
        parser.error("--festival-share must be in [0, 1]")
    config = replace(defaults, eval_fraction=args.eval_fraction, fps=args.fps, festival_share=args.festival_share)
    command = "python -m emotalk_cli.motion.corpus " + " ".join(sys.argv[1:] if argv is None else argv)
    try:
        index = build_corpus(args.out, args.sentences, args.seed, args.workers, args.shard_size,
                             tuple(x.strip() for x in args.languages.split(",") if x.strip()), config, args.quiet, command)
    except (EmotalkError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"corpus: {index['utterances']} utterances, {index['seconds']} s of audio, "
              f"{index['utterances_per_minute']} utterances/min -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
