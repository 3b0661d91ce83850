// An English word-analogy set in questions-words format, for `npm run bench -- word2vec` when no --analogies file is
// given. Google's questions-words.txt is not in ../shared/data nor in any Debian package, so this set is written here,
// modelled on its sections: each section is a list of word pairs, and every ordered choice of two different pairs
// (a b) (c d) is one question "a b c d", as Google built its set. The two relation sections come from Google's set
// (capital-common-countries, family); the grammatical ones are pairs chosen for 19th-century prose (the Gutenberg
// corpus), written down before any vectors were evaluated on them. Both sides of the benchmark read the same file.
import { writeFileSync } from 'node:fs';

const pairs = (s: string): [string, string][] => s.trim().split(/\s*,\s*/).map((p) => p.split(' ') as [string, string]);

/** Sections of the set: name → word pairs. */
export const ANALOGY_SECTIONS: Record<string, [string, string][]> = {
  'capital-common-countries': pairs(`athens greece, baghdad iraq, bangkok thailand, beijing china, berlin germany,
    bern switzerland, cairo egypt, canberra australia, hanoi vietnam, havana cuba, helsinki finland, islamabad pakistan,
    kabul afghanistan, london england, madrid spain, moscow russia, oslo norway, ottawa canada, paris france, rome italy,
    stockholm sweden, tehran iran, tokyo japan`),
  family: pairs(`boy girl, brother sister, brothers sisters, dad mom, father mother, grandfather grandmother,
    grandpa grandma, grandson granddaughter, groom bride, he she, his her, husband wife, king queen, man woman,
    nephew niece, policeman policewoman, prince princess, son daughter, sons daughters, stepbrother stepsister,
    stepfather stepmother, stepson stepdaughter, uncle aunt`),
  'gram1-adjective-to-adverb': pairs(`calm calmly, careful carefully, cheerful cheerfully, complete completely,
    eager eagerly, easy easily, entire entirely, free freely, gentle gently, glad gladly, happy happily, honest honestly,
    immediate immediately, loud loudly, polite politely, proud proudly, quick quickly, quiet quietly, rare rarely,
    sad sadly, safe safely, serious seriously, silent silently, slow slowly, soft softly, sudden suddenly, warm warmly,
    bitter bitterly`),
  'gram2-opposite': pairs(`able unable, aware unaware, certain uncertain, comfortable uncomfortable, common uncommon,
    conscious unconscious, fortunate unfortunate, happy unhappy, just unjust, kind unkind, known unknown,
    likely unlikely, lucky unlucky, natural unnatural, necessary unnecessary, pleasant unpleasant, possible impossible,
    usual unusual, willing unwilling, worthy unworthy, patient impatient, perfect imperfect, polite impolite,
    proper improper, honest dishonest, visible invisible, sensible insensible, capable incapable`),
  'gram3-comparative': pairs(`bad worse, big bigger, bright brighter, cold colder, dark darker, deep deeper,
    easy easier, good better, great greater, hard harder, heavy heavier, high higher, hot hotter, large larger,
    long longer, low lower, near nearer, old older, poor poorer, rich richer, short shorter, small smaller,
    strong stronger, sweet sweeter, warm warmer, weak weaker, wide wider, young younger`),
  'gram4-superlative': pairs(`bad worst, big biggest, bright brightest, cold coldest, dark darkest, deep deepest,
    easy easiest, good best, great greatest, hard hardest, heavy heaviest, high highest, hot hottest, large largest,
    long longest, low lowest, near nearest, old oldest, poor poorest, rich richest, short shortest, small smallest,
    strong strongest, sweet sweetest, warm warmest, weak weakest, wide widest, young youngest`),
  'gram5-present-participle': pairs(`come coming, dance dancing, eat eating, fall falling, fly flying, go going,
    jump jumping, laugh laughing, listen listening, look looking, play playing, read reading, run running, say saying,
    see seeing, shout shouting, sing singing, sit sitting, sleep sleeping, speak speaking, stand standing,
    swim swimming, think thinking, walk walking, write writing, cry crying, smile smiling, weep weeping`),
  'gram6-nationality-adjective': pairs(`england english, france french, germany german, italy italian, spain spanish,
    russia russian, china chinese, japan japanese, greece greek, egypt egyptian, ireland irish, scotland scottish,
    holland dutch, sweden swedish, norway norwegian, denmark danish, portugal portuguese, poland polish,
    turkey turkish, india indian, america american, persia persian, austria austrian, switzerland swiss,
    mexico mexican, canada canadian, prussia prussian`),
  'gram7-past-tense': pairs(`come came, eat ate, fall fell, fly flew, go went, know knew, laugh laughed, look looked,
    play played, run ran, say said, see saw, sing sang, sit sat, sleep slept, speak spoke, stand stood, swim swam,
    take took, think thought, walk walked, write wrote, give gave, find found, tell told, leave left, bring brought,
    begin began`),
  'gram8-plural': pairs(`bird birds, boy boys, child children, city cities, day days, dog dogs, door doors, eye eyes,
    face faces, foot feet, friend friends, girl girls, hand hands, horse horses, house houses, king kings, lady ladies,
    man men, mountain mountains, night nights, river rivers, road roads, ship ships, soldier soldiers, tree trees,
    woman women, window windows, wife wives`),
  'gram9-plural-verbs': pairs(`come comes, eat eats, find finds, give gives, go goes, hear hears, know knows,
    look looks, make makes, say says, see sees, sing sings, sit sits, speak speaks, stand stands, take takes,
    tell tells, think thinks, walk walks, write writes, run runs, sleep sleeps, play plays, work works, live lives`),
};

/** The set as questions-words text: a ": section" line, then every ordered pair of distinct pairs as "a b c d". */
export function analogyText(sections: Record<string, [string, string][]> = ANALOGY_SECTIONS): string {
  const lines: string[] = [];
  for (const [name, list] of Object.entries(sections)) {
    lines.push(`: ${name}`);
    for (const [a, b] of list) for (const [c, d] of list) if (a !== c) lines.push(`${a} ${b} ${c} ${d}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Writes the set to `path` and returns how many questions it holds. */
export function writeAnalogyFile(path: string): number {
  const text = analogyText();
  writeFileSync(path, text);
  return text.split('\n').filter((l) => l !== '' && !l.startsWith(':')).length;
}
