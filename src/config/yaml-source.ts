import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

/** A position inside a YAML file, 1-based like editors show it. */
export interface SourcePosition {
  line: number;
  col: number;
}

/** One problem, formatted the way every config and mapping error is reported. */
export interface SourceProblem {
  source: string;
  position: SourcePosition | null;
  pointer: string;
  message: string;
}

export function formatProblem(p: SourceProblem): string {
  const where = p.position ? `${p.source}:${p.position.line}:${p.position.col}` : p.source;
  return `${where}: ${p.pointer || '/'} ${p.message}`;
}

export function escapePointerToken(token: string | number): string {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function toPointer(path: readonly (string | number)[]): string {
  return path.length === 0 ? '' : '/' + path.map(escapePointerToken).join('/');
}

export function fromPointer(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * A parsed YAML document that remembers where every value came from, so a schema error
 * found later on the plain JS value can be pointed back at a line and column.
 */
export class YamlSource {
  readonly source: string;
  readonly doc: Document;
  private readonly lines = new LineCounter();
  readonly syntaxProblems: SourceProblem[] = [];

  constructor(source: string, text: string) {
    this.source = source;
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: true, uniqueKeys: true, keepSourceTokens: false });
    for (const e of [...this.doc.errors, ...this.doc.warnings]) {
      const pos = e.linePos?.[0];
      this.syntaxProblems.push({
        source,
        position: pos ? { line: pos.line, col: pos.col } : null,
        pointer: '',
        message: `${e.code}: ${firstLine(e.message)}`,
      });
    }
  }

  /** The document as plain JS (empty document → undefined). */
  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  positionOfOffset(offset: number): SourcePosition {
    const p = this.lines.linePos(offset);
    return { line: p.line, col: p.col };
  }

  /** The YAML node at a path, or the deepest existing ancestor when the path goes further. */
  nodeAt(path: readonly (string | number)[]): Node | null {
    let node: unknown = this.doc.contents;
    let last: Node | null = (node as Node | null) ?? null;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(key));
        if (!pair) return last;
        node = pair.value;
      } else if (isSeq(node)) {
        node = node.items[Number(key)];
      } else return last;
      if (node && typeof node === 'object' && 'range' in node) last = node as Node;
      else return last;
    }
    return last;
  }

  /** Position of the key (not the value) of the entry at path, for "unknown key" problems. */
  keyPosition(path: readonly (string | number)[]): SourcePosition | null {
    const parent = this.nodeAt(path.slice(0, -1));
    const key = path[path.length - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((it) => isScalar(it.key) && String(it.key.value) === String(key));
      const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
      if (range) return this.positionOfOffset(range[0]);
    }
    return this.position(path);
  }

  position(path: readonly (string | number)[]): SourcePosition | null {
    const node = this.nodeAt(path);
    const range = node?.range;
    return range ? this.positionOfOffset(range[0]) : path.length === 0 ? { line: 1, col: 1 } : null;
  }

  /** Is the value at path a scalar written with quotes or as a block scalar? (for the `#` and ternary traps) */
  scalarAt(path: readonly (string | number)[]): { type: string | undefined; start: number } | null {
    const node = this.nodeAt(path);
    if (!isScalar(node) || !node.range) return null;
    return { type: node.type, start: node.range[0] };
  }
}

/** The yaml package appends the position and a code frame; the position is already in front. */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}
