/**
 * Reads what a notebook's parameters cell declares (the object literal passed to `notebookParameters`), without
 * running it, so that `npm start -- --set name=value` can check every override before any notebook runs: an
 * experiment parameter against its definition, a notebook parameter against the type of its declared value, and
 * a name nobody reads is refused instead of silently ignored.
 */
import * as path from 'node:path';
import * as ts from 'typescript';
import { isParameterName, parameterEnvName, parseParameter, PARAMETER_NAMES, type ParameterValue } from '../experiment/parameters';
import { cellSource, readNotebook } from './notebook';
import { parseNotebookValue } from './params';

/** A declared parameter and an example of its type (the literal in the cell; a non-literal counts as text). */
export type DeclaredParameters = Record<string, ParameterValue>;

function literalValue(node: ts.Expression): ParameterValue {
  if (ts.isNumericLiteral(node)) return Number(node.text);
  if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.MinusToken && ts.isNumericLiteral(node.operand)) return -Number(node.operand.text);
  if (node.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (node.kind === ts.SyntaxKind.FalseKeyword) return false;
  return ts.isStringLiteral(node) ? node.text : '';
}

/** The parameters the first `notebookParameters({ ... })` call in TypeScript `code` declares, or null if there is none. */
export function declaredInCode(code: string): DeclaredParameters | null {
  const file = ts.createSourceFile('cell.ts', code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  let found: DeclaredParameters | null = null;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'notebookParameters') {
      const arg = node.arguments[0];
      found = {};
      if (arg && ts.isObjectLiteralExpression(arg)) {
        for (const p of arg.properties) {
          if (!ts.isPropertyAssignment(p) || !(ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) continue;
          found[p.name.text] = literalValue(p.initializer);
        }
      }
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** What a notebook's parameters cell declares (empty when it has none). Throws naming the file if it is not a notebook. */
export function declaredParameters(notebookFile: string): DeclaredParameters {
  for (const cell of readNotebook(notebookFile).cells) {
    if (cell.cell_type !== 'code') continue;
    const declared = declaredInCode(cellSource(cell));
    if (declared) return declared;
  }
  return {};
}

/**
 * Checks `name=value` overrides for the notebooks that will run and returns them as the environment the kernels
 * get (`RPS_<NAME>`). Throws on the first bad one, naming it: not `name=value`, a value its parameter refuses,
 * or a name that is neither an experiment parameter nor declared by one of the notebooks.
 */
export function checkParameterOverrides(sets: string[], notebookFiles: string[]): Record<string, string> {
  const declared = notebookFiles.map((f) => ({ file: path.basename(f, '.ipynb'), params: declaredParameters(f) }));
  const env: Record<string, string> = {};
  for (const item of sets) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`--set ${item}: expected name=value, e.g. --set headEpochs=3`);
    const name = item.slice(0, eq).trim();
    const value = item.slice(eq + 1);
    const origin = `--set ${name}`;
    if (isParameterName(name)) {
      parseParameter(name, value, origin);
    } else {
      const owner = declared.find((d) => name in d.params);
      if (!owner) {
        const listing = declared.map((d) => `${d.file}: ${Object.keys(d.params).join(', ') || '(none)'}`).join('; ');
        throw new Error(`${origin}: no such parameter. Experiment parameters: ${PARAMETER_NAMES.join(', ')}. Notebook parameters: ${listing}`);
      }
      parseNotebookValue(value, owner.params[name], origin);
    }
    env[parameterEnvName(name)] = value;
  }
  return env;
}
