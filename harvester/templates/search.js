/* The site's search index as one Pagefind bundle (assets/search/pagefind.js): the module Pagefind's default
   UI loads (its bundlePath is assets/search/), standing for the shards of the page's language.

   The index is in shards, each its own Pagefind index (pagefind/<lang>-<NN>/, listed in
   pagefind/indexes.json, made by harvester/sitesearch.py): when the UI first needs the search (the reader
   focuses the box), this module reads the listing, loads the language's first shard's own pagefind.js and
   merges the others into it (Pagefind's mergeIndex), so a search runs over all of them and their results
   come out as one list, best first. Nothing is fetched before the reader searches. */
const bundles = new URL("../../pagefind/", import.meta.url);
const lang = (document.documentElement.getAttribute("lang") || "es").toLowerCase().slice(0, 2);
let chosen = {};
let ready = null;

function merged() {
  if (ready === null) {
    ready = (async () => {
      const answer = await fetch(new URL("indexes.json", bundles).href);
      if (!answer.ok) throw new Error(`pagefind/indexes.json: HTTP ${answer.status}`);
      const listing = await answer.json();
      const shards = listing[lang] || listing[Object.keys(listing).sort()[0]] || [];
      if (!shards.length) throw new Error("pagefind/indexes.json lists no shard");
      const path = (shard) => new URL(`${shard}/`, bundles).pathname;
      const pagefind = await import(new URL("pagefind.js", new URL(path(shards[0]), bundles)).href);
      await pagefind.options(chosen);
      for (const shard of shards.slice(1)) {
        await pagefind.mergeIndex(path(shard), chosen.baseUrl ? { baseUrl: chosen.baseUrl } : {});
      }
      return pagefind;
    })();
  }
  return ready;
}

export async function options(given) {
  chosen = { ...chosen, ...given };
  if (ready !== null) return (await ready).options(given);
  await merged();
}
export async function init() { await merged(); }
export async function mergeIndex(path, given) { return (await merged()).mergeIndex(path, given); }
export async function search(term, given) { return (await merged()).search(term, given); }
export async function debouncedSearch(term, given, wait) { return (await merged()).debouncedSearch(term, given, wait); }
export async function preload(term, given) { return (await merged()).preload(term, given); }
export async function filters() { return (await merged()).filters(); }
export async function destroy() {
  if (ready !== null) {
    const pagefind = await ready;
    ready = null;
    await pagefind.destroy();
  }
}
