/**
 * Text preparation: markdown reduced to speakable plain text, split into sentences, and the
 * key of the phrase cache.
 *
 * @module
 */

/**
 * Reduces markdown (and stray HTML) to plain text with whitespace collapsed, as py-tars'
 * markdown → HTML → text step does: code fences, emphasis, headings, list bullets, quotes,
 * tables and link/image syntax are removed, the visible text is kept.
 */
export function markdownToSpeech(markdown: string): string {
  let text = markdown.replace(/\r\n?/g, "\n");
  text = text.replace(/```[^\n]*\n?([\s\S]*?)```/g, "$1"); // fenced code: keep the code
  text = text.replace(/`([^`]*)`/g, "$1");
  text = text.replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1"); // images: alt text
  text = text.replace(/\[([^\]]+)\]\([^)]*\)/g, "$1"); // links: the link text
  text = text.replace(/\[([^\]]+)\]\[[^\]]*\]/g, "$1");
  text = text.replace(/^\s*\[[^\]]+\]:\s*\S+.*$/gm, ""); // link definitions
  text = text.replace(/<\/?[a-zA-Z][^>]*>/g, " "); // HTML tags
  text = text.replace(/&nbsp;/g, " ").replace(/&amp;/g, "&").replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'");
  text = text.replace(/^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/gm, (_m, heading: string) => {
    return /[.!?:]$/.test(heading) ? heading : `${heading}.`; // a heading is its own sentence
  });
  text = text.replace(/^\s{0,3}(?:[-*_]\s*){3,}$/gm, ""); // horizontal rules
  text = text.replace(/^\s*>+\s?/gm, ""); // block quotes
  text = text.replace(/^\s*(?:[-*+]|\d+[.)])\s+/gm, ""); // list bullets
  text = text.replace(/^\s*\|?(?:\s*:?-+:?\s*\|)+\s*:?-*:?\s*$/gm, ""); // table rules
  text = text.replace(/\s*\|\s*/g, ", ").replace(/^, |, $/gm, "");
  text = text.replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/g, "$2"); // bold
  text = text.replace(/(^|[^\w*])[*_](?=\S)([^*_\n]*?\S)[*_](?=[^\w*]|$)/g, "$1$2"); // italics
  text = text.replace(/~~(.*?)~~/g, "$1");
  text = text.replace(/[*#]+/g, " ");
  return text.replace(/\s+/g, " ").trim();
}

/**
 * Splits plain text into sentences after `.`, `!`, `?` (and `…`) followed by whitespace, as
 * py-tars' pipeline does (`(?<=[.!?])\s+`). Empty pieces are dropped.
 */
export function splitSentences(text: string): string[] {
  return text.split(/(?<=[.!?…])\s+/).map((s) => s.trim()).filter((s) => s !== "");
}

/** The phrase-cache key of a text: trimmed, lower case, whitespace collapsed. */
export function normalizePhrase(text: string): string {
  return text.trim().toLowerCase().replace(/\s+/g, " ");
}
