// Runs one benchmark suite: `npm run bench -- <suite>` imports bench/<suite>.ts and calls its default export.
const suite = process.argv[2];
if (!suite || !/^[\w-]+$/.test(suite)) {
  console.error('usage: npm run bench -- <suite>   (a file bench/<suite>.ts)');
  process.exit(2);
}
const mod = (await import(`./${suite}.ts`)) as { default: (args: string[]) => unknown };
await mod.default(process.argv.slice(3));
