// The comparison corpus of the text tests: the cases where tokenizers most often disagree.

/** English, Chinese, accents, emoji, odd whitespace, control characters, long words, special tokens in text. */
export const CORPUS: string[] = [
  'Hello, world! The quick brown fox jumps over the lazy dog.',
  "It's 3:45pm; don't you think we'd better go? (Yes.)",
  '我爱北京天安门。今天天气很好！',
  '混合 English 和中文, numbers 12345 and 3.14159.',
  'Café déjà vu — naïve résumé, ÉCOLE, Ångström, façade.',
  'Emoji: 😀👍🏽 and 👨‍👩‍👧 family; 🇫🇷 flag.',
  'tab\tseparated\tvalues\r\nand CRLF\r\nline',
  'non\u00a0breaking\u3000ideographic\u2003em space',
  'control\u0001chars\u0007here\u200bzero\u200dwidth\ufeffbom',
  'replacement \ufffd char and NUL \u0000 inside',
  'supercalifragilisticexpialidocious antidisestablishmentarianism',
  '   leading and trailing spaces   ',
  '',
  'Ελληνικά κείμενα ΣΊΣΥΦΟΣ and Русский текст',
  'İstanbul ǅungla ﬁnance Straße',
  'a [MASK] token [SEP] inside, and <|endoftext|> too',
  'x'.repeat(120) + ' long',
  '日本語のテキスト、カタカナ、ひらがな。한국어 텍스트.',
  'URLs: https://example.com/path?q=1&x=2#frag, e-mail: a.b@c.de',
  "quotes “curly” ‘single’ «guillemets» and ``latex''",
];
