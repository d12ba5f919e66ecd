/** Growth API calls (goals, challenges, streaks, badges) and the formatting the page shows. */
import { api, call } from './api/client';
import type { components } from './api/schema';

type Schemas = components['schemas'];
export type Goal = Schemas['Goal'];
export type GoalCreate = Schemas['GoalCreate'];
export type Challenge = Schemas['Challenge'];
export type ChallengeCreate = Schemas['ChallengeCreate'];
export type ChallengeTemplate = Schemas['ChallengeTemplate'];
export type Streaks = Schemas['Streaks'];
export type Badge = Schemas['Badge'];

export interface GrowthData {
	goals: Goal[];
	challenges: Challenge[];
	templates: ChallengeTemplate[];
	streaks: Streaks;
	badges: Badge[];
}

/** Events after which progress may have moved. */
export const GROWTH_EVENT_TYPES = ['delivery.updated', 'metrics.updated'] as const;

const path = (workspaceId: string) => ({ path: { workspace_id: workspaceId } });

export async function loadGrowth(workspaceId: string, timezone: string): Promise<GrowthData> {
	const [goals, challenges, templates, streaks, badges] = await Promise.all([
		call(api.GET('/api/v1/workspaces/{workspace_id}/growth/goals', { params: path(workspaceId) })),
		call(api.GET('/api/v1/workspaces/{workspace_id}/growth/challenges', { params: path(workspaceId) })),
		call(
			api.GET('/api/v1/workspaces/{workspace_id}/growth/challenge-templates', { params: path(workspaceId) })
		),
		call(
			api.GET('/api/v1/workspaces/{workspace_id}/growth/streaks', {
				params: { ...path(workspaceId), query: { timezone, days: 35 } }
			})
		),
		call(
			api.GET('/api/v1/workspaces/{workspace_id}/growth/badges', {
				params: { ...path(workspaceId), query: { timezone } }
			})
		)
	]);
	return {
		goals: goals.items,
		challenges: challenges.items,
		templates: templates.items,
		streaks,
		badges: badges.items
	};
}

export function createGoal(workspaceId: string, body: GoalCreate): Promise<Goal> {
	return call(api.POST('/api/v1/workspaces/{workspace_id}/growth/goals', { params: path(workspaceId), body }));
}

export function createChallenge(workspaceId: string, body: ChallengeCreate): Promise<Challenge> {
	return call(
		api.POST('/api/v1/workspaces/{workspace_id}/growth/challenges', { params: path(workspaceId), body })
	);
}

/** A goal's value as people read it: rates in percent, paces with one decimal. */
export function formatGoalValue(metric: Goal['metric'], value: number | null | undefined): string {
	if (value === null || value === undefined) return '—';
	if (metric === 'engagement_rate') return `${(value * 100).toFixed(1)}%`;
	if (metric === 'posts_per_week') return `${value.toFixed(1)}/week`;
	return Math.round(value).toLocaleString('en');
}

export const GOAL_STATUS_LABELS: Record<Goal['status'], string> = {
	on_track: 'On track',
	at_risk: 'At risk',
	reached: 'Reached',
	missed: 'Missed'
};

/** Percent for a progress bar's width, 0 to 100. */
export function progressPercent(progress: number): number {
	return Math.round(Math.max(0, Math.min(1, progress)) * 100);
}

/** The engagement rate form field is in percent; the API takes a fraction. */
export function goalTarget(metric: Goal['metric'], entered: number): number {
	return metric === 'engagement_rate' ? entered / 100 : entered;
}

/** Whether a live event can move progress (only deliveries that became published, or new numbers). */
export function movesProgress(type: string, data: Record<string, unknown>): boolean {
	if (type === 'delivery.updated') {
		return typeof data.state !== 'string' || ['published', 'cancelled', 'failed'].includes(data.state);
	}
	return type === 'metrics.updated';
}
