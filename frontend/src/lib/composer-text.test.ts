import { describe, expect, it } from 'vitest';
import { highlight, linkHost, trimUrl } from './composer-text';

function kinds(text: string) {
	return highlight(text)
		.filter((s) => s.kind !== 'text')
		.map((s) => `${s.kind}:${s.text}`);
}

describe('highlight', () => {
	it('round-trips the text', () => {
		const text = 'Hi @ana! Read https://example.com/a?b=1. #launch #2024 done';
		expect(
			highlight(text)
				.map((s) => s.text)
				.join('')
		).toBe(text);
	});

	it('finds links, hashtags and mentions', () => {
		expect(kinds('Hi @ana! Read https://example.com/a?b=1. #launch')).toEqual([
			'mention:@ana',
			'link:https://example.com/a?b=1',
			'hashtag:#launch'
		]);
	});

	it('keeps www links and balanced parentheses, drops sentence punctuation', () => {
		expect(kinds('see www.example.org, and (https://en.wikipedia.org/wiki/Foo_(bar)).')).toEqual([
			'link:www.example.org',
			'link:https://en.wikipedia.org/wiki/Foo_(bar)'
		]);
	});

	it('knows fediverse and Bluesky handles', () => {
		expect(kinds('cc @alice@mastodon.social and @bob.bsky.social.')).toEqual([
			'mention:@alice@mastodon.social',
			'mention:@bob.bsky.social'
		]);
	});

	it('ignores email addresses, number-only tags and anchors inside URLs', () => {
		expect(kinds('mail me@example.com about #1 or see https://x.test/#top')).toEqual(['link:https://x.test/#top']);
		expect(kinds('a#b c@d')).toEqual([]);
	});

	it('supports non-Latin hashtags', () => {
		expect(kinds('#café #日本語 #über_alles')).toEqual(['hashtag:#café', 'hashtag:#日本語', 'hashtag:#über_alles']);
	});

	it('merges plain text and handles empty input', () => {
		expect(highlight('')).toEqual([]);
		expect(highlight('just words')).toEqual([{ kind: 'text', text: 'just words' }]);
	});
});

describe('trimUrl and linkHost', () => {
	it('trims trailing punctuation', () => {
		expect(trimUrl('https://a.test/x).')).toBe('https://a.test/x');
		expect(trimUrl('https://a.test/x_(y)')).toBe('https://a.test/x_(y)');
		expect(trimUrl('https://a.test/"')).toBe('https://a.test/');
	});

	it('finds the host for link cards', () => {
		expect(linkHost('https://www.Example.com/a')).toBe('example.com');
		expect(linkHost('example.com/path')).toBe('example.com');
		expect(linkHost('javascript:alert(1)')).toBeNull();
		expect(linkHost('   ')).toBeNull();
	});
});
