# Versions de Terraform et du provider Airbyte.
#
# Provider : airbytehq/airbyte épinglé à 1.2.0, dernière version stable publiée
# (les 1.3.0-rc* sont des pré-versions). Depuis la 1.0, les ressources typées par
# connecteur (airbyte_source_postgres, airbyte_destination_s3, ...) sont dépréciées
# puis retirées (1.1) : on utilise les ressources génériques airbyte_source /
# airbyte_destination, dont l'attribut `configuration` est une chaîne JSON sensible.
# La 1.2.0 fournit aussi airbyte_declarative_source_definition (manifeste low-code)
# et airbyte_connection avec configurations.streams et schedule.
#
# Montée de version : relire le guide de migration du provider, changer `version`
# ci-dessous puis `terraform init -upgrade`.

terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    airbyte = {
      source  = "airbytehq/airbyte"
      version = "1.2.0"
    }
  }
}
