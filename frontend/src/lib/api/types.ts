/**
 * Friendly names for the generated schema types. If the backend renames a schema,
 * only this file changes.
 */
import type { components } from './schema';

type Schemas = components['schemas'];

export type Me = Schemas['Me'];
export type User = Schemas['User'];
export type Workspace = Schemas['Workspace'];
export type Role = Workspace['role'];
export type ApiToken = Schemas['ApiToken'];
export type ApiTokenCreated = Schemas['ApiTokenCreated'];
export type Member = Schemas['Member'];
export type Invitation = Schemas['Invitation'];
export type InvitationCreated = Schemas['InvitationCreated'];
export type InvitationPreview = Schemas['InvitationPreview'];
export type InvitationAccept = Schemas['InvitationAccept'];
export type InvitationCreate = Schemas['InvitationCreate'];
