# Identifiants des objets créés sur le serveur Airbyte (pour l'API, l'UI ou un orchestrateur).

output "source_id" {
  description = "Identifiant de la source BCEAO (instance de la définition déclarative)."
  value       = airbyte_source.bceao.source_id
}

output "destination_id" {
  description = "Identifiant de la destination S3 (couche bronze, Parquet SNAPPY)."
  value       = airbyte_destination.bronze.destination_id
}

output "connection_id" {
  description = "Identifiant de la connexion BCEAO -> S3 bronze (à déclencher via l'API pour une synchronisation immédiate)."
  value       = airbyte_connection.bceao_to_bronze.connection_id
}
