import type { LoggerService, SchedulerServiceTaskRunner } from '@backstage/backend-plugin-api';
import { ANNOTATION_LOCATION, ANNOTATION_ORIGIN_LOCATION, type Entity } from '@backstage/catalog-model';
import type { EntityProvider, EntityProviderConnection } from '@backstage/plugin-catalog-node';
import type { BerthClient, CatalogEntity } from '@berth-platform/backstage-plugin-berth-common';

/** What one refresh did. */
export interface RefreshResult {
  /** False when Berth answered 304: nothing changed since the last mutation. */
  changed: boolean;
  entities: number;
}

/**
 * Brings Berth's catalog entities (teams as Groups and Systems, members as Users, services
 * as Components, namespaces and databases as Resources) into the catalog. Berth answers with
 * an ETag, so an unchanged round costs one 304 and no mutation; a changed one is a full
 * mutation, which also removes what Berth no longer has.
 */
export class BerthEntityProvider implements EntityProvider {
  private connection?: EntityProviderConnection;
  private etag?: string;

  constructor(
    private readonly client: BerthClient,
    private readonly logger: LoggerService,
    private readonly taskRunner?: SchedulerServiceTaskRunner,
  ) {}

  getProviderName(): string {
    return `berth:${new URL(this.client.baseUrl).host}`;
  }

  /** Where the entities come from; each entity names it as its managing location. */
  get location(): string {
    return `url:${this.client.baseUrl}/api/v1/catalog/entities`;
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    await this.taskRunner?.run({
      id: `${this.getProviderName()}:refresh`,
      fn: async () => {
        try {
          const r = await this.refresh();
          if (r.changed) this.logger.info(`Berth catalog: applied ${r.entities} entities`);
        } catch (e) {
          this.logger.error(`Berth catalog: refresh failed, keeping the last entities: ${e}`);
        }
      },
    });
  }

  /** Reads Berth's entities and applies them when they changed. */
  async refresh(): Promise<RefreshResult> {
    if (!this.connection) throw new Error('BerthEntityProvider is not connected yet');
    const got = await this.client.catalogEntities(this.etag);
    if (!got) return { changed: false, entities: 0 };
    const entities = got.entities.map(e => ({ entity: this.managed(e), locationKey: this.getProviderName() }));
    await this.connection.applyMutation({ type: 'full', entities });
    // Kept only after the mutation landed: a failed one is tried again in full next round.
    this.etag = got.etag;
    return { changed: true, entities: entities.length };
  }

  private managed(e: CatalogEntity): Entity {
    const { metadata } = e;
    return {
      apiVersion: e.apiVersion,
      kind: e.kind,
      metadata: {
        ...metadata,
        annotations: {
          ...metadata.annotations,
          [ANNOTATION_LOCATION]: this.location,
          [ANNOTATION_ORIGIN_LOCATION]: this.location,
        },
      },
      spec: e.spec as Entity['spec'],
    };
  }
}
