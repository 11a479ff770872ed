import type { Scalar } from 'yaml';

/**
 * The file offset of character `index` of a YAML scalar's value, so an error JSONata reports
 * inside an expression points at the right column of the file. Quotes, escapes (`''`, `\"`),
 * line folding and block indentation are walked over; past the end, the end of the value.
 */
export function offsetInScalar(text: string, node: Scalar, index: number): number {
  const range = node.range;
  if (!range) return 0;
  const [start, valueEnd] = range;
  switch (node.type) {
    case 'BLOCK_LITERAL':
    case 'BLOCK_FOLDED':
      return offsetInBlock(text, start, valueEnd, index, node.type === 'BLOCK_FOLDED');
    case 'QUOTE_SINGLE':
      return walkFlow(text, start + 1, valueEnd, index, (p) => (text[p] === "'" && text[p + 1] === "'" ? 2 : 1));
    case 'QUOTE_DOUBLE':
      return walkFlow(text, start + 1, valueEnd, index, (p) => (text[p] === '\\' ? escapeLength(text[p + 1]) : 1));
    default:
      return walkFlow(text, start, valueEnd, index, () => 1);
  }
}

function escapeLength(next: string | undefined): number {
  if (next === 'x') return 4;
  if (next === 'u') return 6;
  if (next === 'U') return 10;
  return 2;
}

/** Flow scalars: one value character per source character (or escape), a folded line break as one space. */
function walkFlow(text: string, from: number, end: number, index: number, step: (p: number) => number): number {
  let p = from;
  for (let i = 0; i < index && p < end; i++) {
    if (text[p] === '\n' || text[p] === '\r') {
      while (p < end && /\s/.test(text[p]!)) p++;
      continue;
    }
    p += step(p);
  }
  return Math.min(p, end);
}

/** Block scalars: the value's lines are the source lines after the header, less their indentation. */
function offsetInBlock(text: string, start: number, end: number, index: number, folded: boolean): number {
  const headerEnd = text.indexOf('\n', start);
  if (headerEnd < 0) return start;
  const header = text.slice(start, headerEnd);
  const explicit = /^[|>][+-]?([1-9])|^[|>]([1-9])/.exec(header);
  let lineStart = headerEnd + 1;
  let indent = -1;
  let consumed = 0;
  while (lineStart <= end) {
    const nl = text.indexOf('\n', lineStart);
    const lineEnd = nl < 0 || nl > end ? end : nl;
    const line = text.slice(lineStart, lineEnd);
    if (indent < 0 && line.trim() !== '') {
      const parentIndent = explicit ? lineIndent(text, start) : 0;
      indent = explicit ? parentIndent + Number(explicit[1] ?? explicit[2]) : line.length - line.trimStart().length;
    }
    const content = indent < 0 ? '' : line.slice(Math.min(indent, line.length));
    // A folded block joins lines with one space and drops one newline of each run of blank lines.
    const width = folded && content === '' ? 0 : content.length + 1;
    if (index < consumed + width || nl < 0 || nl >= end) return lineStart + Math.max(indent, 0) + Math.min(index - consumed, content.length);
    consumed += width;
    lineStart = nl + 1;
  }
  return end;
}

function lineIndent(text: string, offset: number): number {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  let n = 0;
  while (text[lineStart + n] === ' ') n++;
  return n;
}

/** Does a plain scalar have a `# comment` after it on the same line (which YAML cut off)? */
export function hasTrailingComment(text: string, node: Scalar): boolean {
  if (node.type !== 'PLAIN' || !node.range) return false;
  const lineEnd = text.indexOf('\n', node.range[1]);
  const rest = text.slice(node.range[1], lineEnd < 0 ? text.length : lineEnd);
  return /^\s+#/.test(rest);
}
