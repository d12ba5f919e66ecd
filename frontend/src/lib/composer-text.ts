/**
 * Splitting post text into plain text, links, #hashtags and @mentions for the network
 * previews. This is only for display: lengths always come from the server.
 */

export type SegmentKind = 'text' | 'link' | 'hashtag' | 'mention';

export interface Segment {
	kind: SegmentKind;
	text: string;
}

// Links: http(s)://… or www.…, up to whitespace.
const URL_PART = String.raw`(?:https?:\/\/|www\.)[^\s<>"]+`;
// @name, @name.bsky.social, @name@instance.social; not inside an email address or a URL.
const MENTION_PART = String.raw`(?<![\p{L}\p{N}_@\/.])@[\p{L}\p{N}_]+(?:[.\-][\p{L}\p{N}_]+)*(?:@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)+)?`;
// #tag with at least one letter (or _) — "#1" is not a hashtag; not after a word character or "&".
const HASHTAG_PART = String.raw`(?<![\p{L}\p{N}_&#\/])#[\p{L}\p{M}\p{N}_]*[\p{L}_][\p{L}\p{M}\p{N}_]*`;

const TOKEN = new RegExp(`(${URL_PART})|(${MENTION_PART})|(${HASHTAG_PART})`, 'gu');

const TRAILING = /[.,;:!?'"\]}>]+$/u;

/** Drop punctuation that ends a sentence rather than the URL; keep ")" when it closes a "(" in the URL. */
export function trimUrl(candidate: string): string {
	let url = candidate;
	for (;;) {
		const before = url;
		url = url.replace(TRAILING, '');
		if (url.endsWith(')')) {
			const opens = (url.match(/\(/g) ?? []).length;
			const closes = (url.match(/\)/g) ?? []).length;
			if (closes > opens) url = url.slice(0, -1);
		}
		if (url === before) return url;
	}
}

function push(out: Segment[], kind: SegmentKind, text: string): void {
	if (!text) return;
	const last = out[out.length - 1];
	if (kind === 'text' && last?.kind === 'text') last.text += text;
	else out.push({ kind, text });
}

/** Split `text` into segments; joining their `text` gives back the input. */
export function highlight(text: string): Segment[] {
	const out: Segment[] = [];
	let index = 0;
	TOKEN.lastIndex = 0;
	for (let match = TOKEN.exec(text); match; match = TOKEN.exec(text)) {
		const start = match.index;
		let value = match[0];
		let kind: SegmentKind = match[1] ? 'link' : match[2] ? 'mention' : 'hashtag';
		if (kind === 'link') {
			value = trimUrl(value);
			// "www." alone (or "http://") is not a link.
			if (/^(?:https?:\/\/|www\.)$/u.test(value)) kind = 'text';
		}
		push(out, 'text', text.slice(index, start));
		push(out, kind, value);
		index = start + value.length;
		TOKEN.lastIndex = index;
	}
	push(out, 'text', text.slice(index));
	return out;
}

/** The host of a link for a preview card ("example.com"), or null when it is not a URL. */
export function linkHost(link: string): string | null {
	const raw = link.trim();
	if (!raw) return null;
	try {
		const url = new URL(/^[a-z][a-z0-9+.-]*:/i.test(raw) ? raw : `https://${raw}`);
		if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
		return url.hostname.replace(/^www\./, '') || null;
	} catch {
		return null;
	}
}
