# Déploiement sur un serveur Airbyte du connecteur BCEAO décrit par ingestion/manifest.yaml
# (le même manifeste que la voie locale airbyte-cdk) vers la couche bronze S3 :
#
#   airbyte_declarative_source_definition  <- manifeste YAML converti en JSON
#   airbyte_source                          <- instance de cette définition + configuration
#   airbyte_destination                     <- connecteur S3, Parquet + SNAPPY
#   airbyte_connection                      <- 3 flux en incrémental « append », planifiés par cron
#
# Ressources génériques : le provider 1.2.0 (versions.tf) n'a plus de ressources typées par
# connecteur (airbyte_destination_s3 etc., retirées en 1.1). airbyte_source et
# airbyte_destination prennent `definition_id` et une `configuration` JSON (jsonencode),
# attribut entièrement sensible : les secrets n'apparaissent pas dans le plan.

provider "airbyte" {
  server_url    = var.airbyte_server_url
  client_id     = var.airbyte_client_id
  client_secret = var.airbyte_client_secret
  token_url     = var.airbyte_token_url
}

locals {
  # Manifeste low-code partagé avec la voie locale ; l'API attend un objet JSON.
  manifest = yamldecode(file("${path.module}/../manifest.yaml"))

  # Définition du connecteur « destination-s3 » dans le registre Airbyte.
  s3_destination_definition_id = "4816b78f-1489-44c1-9060-4b19d5fa9362"

  # Clés d'objet : <s3_bucket_path>/<flux>/<AAAA>_<MM>_<JJ>_<epoch ms>_<partie>.parquet
  # Le connecteur ajoute lui-même le numéro de partie et l'extension après ce préfixe
  # (file_name_pattern laissé vide pour garder ce nommage). « $${ » échappe
  # l'interpolation Terraform : Airbyte reçoit ${STREAM_NAME}, ${YEAR}, etc.
  s3_path_format = "$${STREAM_NAME}/$${YEAR}_$${MONTH}_$${DAY}_$${EPOCH}_"

  # Flux synchronisés : ceux du manifeste, tirés de lui (le manifeste est vérifié contre
  # conf/streams.toml, où les flux sont déclarés une seule fois) ; clé primaire en liste de
  # chemins de champ, curseur incrémental.
  streams = {
    for stream in local.manifest.streams : stream.name => {
      primary_key  = [for field in flatten([stream.primary_key]) : [field]]
      cursor_field = [stream.incremental_sync.cursor_field]
    }
  }
}

resource "airbyte_declarative_source_definition" "bceao" {
  workspace_id = var.workspace_id
  name         = "BCEAO indicateurs UEMOA (manifeste déclaratif)"
  manifest     = jsonencode(local.manifest)

  lifecycle {
    precondition {
      condition     = can(local.manifest.spec) && can(local.manifest.streams)
      error_message = "ingestion/manifest.yaml doit être un manifeste déclaratif Airbyte (clés « spec » et « streams »)."
    }
  }
}

resource "airbyte_source" "bceao" {
  workspace_id  = var.workspace_id
  name          = "BCEAO indicateurs UEMOA"
  definition_id = airbyte_declarative_source_definition.bceao.id

  # Champs de la spec du manifeste (connection_specification).
  configuration = jsonencode({
    api_url        = var.bceao_api_url
    api_key        = var.bceao_api_key
    start_year     = var.start_year
    countries      = var.countries
    start_datetime = var.start_datetime
    page_size      = var.page_size
  })
}

resource "airbyte_destination" "bronze" {
  workspace_id  = var.workspace_id
  name          = "Lakehouse S3 bronze (Parquet SNAPPY)"
  definition_id = local.s3_destination_definition_id

  # Adressage « path-style » (<endpoint>/<bucket>/<clé>) : la spec du connecteur S3 n'a
  # pas d'option pour le forcer. L'ancien client Java du connecteur l'active dès qu'un
  # s3_endpoint est fourni ; le client Kotlin des versions récentes suit les règles du
  # SDK AWS, qui gardent le path-style pour un endpoint à adresse IP mais peuvent passer
  # en « virtual-hosted » (<bucket>.<hôte>) pour un nom d'hôte. Voir README.md (MinIO).
  configuration = jsonencode({
    s3_endpoint       = var.s3_endpoint
    s3_bucket_name    = var.s3_bucket
    s3_bucket_path    = var.s3_bucket_path
    s3_bucket_region  = var.s3_region
    s3_path_format    = local.s3_path_format
    access_key_id     = var.s3_access_key_id
    secret_access_key = var.s3_secret_access_key
    format = {
      format_type       = "Parquet"
      compression_codec = "SNAPPY"
    }
  })
}

resource "airbyte_connection" "bceao_to_bronze" {
  name           = "BCEAO -> S3 bronze"
  source_id      = airbyte_source.bceao.source_id
  destination_id = airbyte_destination.bronze.destination_id
  status         = "active"

  # Pas de préfixe ni d'espace de noms : le nom du flux est le dossier sous bronze/.
  namespace_definition                 = "destination"
  prefix                               = ""
  non_breaking_schema_updates_behavior = "propagate_columns"

  configurations = {
    streams = [
      for name, stream in local.streams : {
        name         = name
        sync_mode    = "incremental_append"
        primary_key  = stream.primary_key
        cursor_field = stream.cursor_field
      }
    ]
  }

  schedule = {
    schedule_type   = "cron"
    cron_expression = var.schedule_cron
  }
}
