import { describe, expect, it } from 'vitest';
import { NETWORKS, formatHandle, isNetwork, networkLabel, networkMark } from './networks';

describe('networks', () => {
	it('labels every network', () => {
		expect(NETWORKS).toHaveLength(10);
		expect(networkLabel('linkedin')).toBe('LinkedIn');
		expect(networkLabel('x')).toBe('X');
		expect(networkLabel('myspace')).toBe('myspace');
		expect(networkMark('bluesky')).toBe('BS');
		expect(isNetwork('threads')).toBe(true);
		expect(isNetwork('myspace')).toBe(false);
	});

	it('writes handles as each network does', () => {
		expect(formatHandle('x', 'ana')).toBe('@ana');
		expect(formatHandle('mastodon', '@ana@mastodon.social')).toBe('@ana@mastodon.social');
		expect(formatHandle('linkedin', 'Ana Lopez')).toBe('Ana Lopez');
		expect(formatHandle('x', '  ')).toBe('');
	});
});
