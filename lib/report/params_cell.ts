/**
 * Reads which parameters a notebook declares, from the source of its parameters cell (the object literal
 * passed to `notebookParameters`), without running it. `npm start -- --set name=value` uses it to reject a
 * name that no notebook would read, instead of silently ignoring it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

interface NotebookJson {
  cells?: { cell_type?: string; source?: string | string[] }[];
}

/** The property names of the first `notebookParameters({ ... })` call in TypeScript `code`, or null if none. */
export function parameterNamesInCode(code: string): string[] | null {
  const file = ts.createSourceFile('cell.ts', code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  let names: string[] | null = null;
  const visit = (node: ts.Node): void => {
    if (names) return;
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'notebookParameters') {
      const arg = node.arguments[0];
      if (arg && ts.isObjectLiteralExpression(arg)) {
        names = arg.properties
          .map((p) => (p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? p.name.text : null))
          .filter((n): n is string => n !== null);
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return names;
}

/** The parameters declared by a notebook's parameters cell (empty when it has none). Throws naming the file if it is not a notebook. */
export function declaredParameters(notebookFile: string): string[] {
  let nb: NotebookJson;
  try {
    nb = JSON.parse(fs.readFileSync(notebookFile, 'utf8')) as NotebookJson;
  } catch (err) {
    throw new Error(`${notebookFile}: not a readable notebook (${err instanceof Error ? err.message : String(err)})`);
  }
  for (const cell of nb.cells ?? []) {
    if (cell.cell_type !== 'code') continue;
    const code = Array.isArray(cell.source) ? cell.source.join('') : (cell.source ?? '');
    const names = parameterNamesInCode(code);
    if (names) return names;
  }
  return [];
}

/**
 * Checks override names against the notebooks that will run; throws naming the unknown ones and listing
 * each notebook's parameters.
 */
export function checkParameterNames(names: string[], notebookFiles: string[]): void {
  const declared = notebookFiles.map((f) => ({ file: path.basename(f, '.ipynb'), names: declaredParameters(f) }));
  const known = new Set(declared.flatMap((d) => d.names));
  const unknown = names.filter((n) => !known.has(n));
  if (!unknown.length) return;
  const listing = declared.map((d) => `${d.file}: ${d.names.join(', ') || '(none)'}`).join('; ');
  throw new Error(`--set ${unknown.join(', ')}: no notebook to run declares ${unknown.length > 1 ? 'these parameters' : 'this parameter'}. Declared: ${listing}`);
}
