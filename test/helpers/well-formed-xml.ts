/**
 * A well-formedness check for the XML we write ourselves (SVG), with no XML parser dependency:
 * enough of XML to catch what a string-built SVG gets wrong: unbalanced or crossed tags,
 * unquoted or duplicate attributes, stray `<` or `&`. Null when well-formed, else what is wrong.
 */
export function wellFormed(xml: string): string | null {
  const stack: string[] = [];
  const entity = /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;
  let i = 0;
  const text = (s: string, where: number): string | null => {
    for (let k = 0; k < s.length; k++) {
      if (s[k] === '<') return `stray < at ${where + k}`;
      if (s[k] === '&' && !entity.test(s.slice(k))) return `bad entity at ${where + k}`;
    }
    return null;
  };
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const chunk = lt < 0 ? xml.slice(i) : xml.slice(i, lt);
    const bad = text(chunk, i);
    if (bad) return bad;
    if (lt < 0) break;
    const gt = xml.indexOf('>', lt);
    if (gt < 0) return `unclosed tag at ${lt}`;
    const tag = xml.slice(lt + 1, gt);
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      if (stack.pop() !== name) return `</${name}> does not close the open tag at ${lt}`;
    } else {
      const selfClosing = tag.endsWith('/');
      const m = /^([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*\/?$/.exec(tag);
      if (!m) return `malformed tag <${tag.slice(0, 60)}> at ${lt}`;
      const names = [...(m[2] ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => a[1]);
      if (new Set(names).size !== names.length) return `duplicate attribute in <${m[1]}> at ${lt}`;
      for (const a of (m[2] ?? '').matchAll(/="([^"]*)"/g)) {
        const bad2 = text(a[1] ?? '', lt);
        if (bad2) return bad2;
      }
      if (!selfClosing) stack.push(m[1] as string);
    }
    i = gt + 1;
  }
  return stack.length ? `unclosed <${stack.join('>, <')}>` : null;
}
