/**
 * Import cycles among a tree's TypeScript modules. Layers point one way (eslint.config.js), but
 * inside a layer two modules can still end up importing each other through a chain of others; a
 * cycle makes the load order decide which of them sees the other half-initialised, and it means
 * neither can change alone. Type-only imports count too: they tie the modules together as much.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/** Module → the modules it imports, as paths relative to the root the graph was read from. */
export type ImportGraph = Map<string, string[]>;

/** Every relative import (static, dynamic, re-export) between the .ts files below `root`. */
export function importGraph(root: string): ImportGraph {
  const graph: ImportGraph = new Map();
  const files = readdirSync(root, { recursive: true, encoding: "utf8" }).filter(
    (f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.split(/[\\/]/).includes("node_modules"),
  );
  for (const file of files) {
    const path = join(root, file);
    const { importedFiles } = ts.preProcessFile(readFileSync(path, "utf8"), true, true);
    const targets = importedFiles
      .map((i) => i.fileName)
      .filter((name) => name.startsWith("."))
      .map((name) => resolve(dirname(path), name.replace(/\.js$/, ".ts")))
      .filter((target) => existsSync(target))
      .map((target) => relative(root, target));
    graph.set(relative(root, path), [...new Set(targets)]);
  }
  return graph;
}

/** The groups of modules that import each other (strongly connected), each sorted; none when the graph is acyclic. */
export function importCycles(graph: ImportGraph): string[][] {
  // Tarjan's algorithm, iteratively (a long import chain must not overflow the stack).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const groups: string[][] = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; edge: number }> = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { node: string; edge: number };
      const edges = graph.get(frame.node) ?? [];
      if (frame.edge < edges.length) {
        const to = edges[frame.edge++] as string;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node) ?? 0, index.get(to) ?? 0));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node) ?? 0, low.get(frame.node) ?? 0));
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const group: string[] = [];
      for (;;) {
        const member = stack.pop() as string;
        onStack.delete(member);
        group.push(member);
        if (member === frame.node) break;
      }
      if (group.length > 1 || edges.includes(frame.node)) groups.push(group.sort());
    }
  }
  return groups;
}
