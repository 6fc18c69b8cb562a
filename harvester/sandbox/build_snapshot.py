"""Build the bundled snapshot in `data/` from the Python literals below: `python -m harvester.sandbox.build_snapshot`.

The literals model the portals of shared/REAL_WORLD.md (real slugs, organizations, Spanish titles). They are
expanded deterministically (fixed seed, uuid5 ids) into the dicts a CKAN package_show returns, with the gaps
real portals have: missing licences, contacts, notes, tags, sizes, mimetypes; formats written many ways.
Resource URLs keep the `{sandbox}` placeholder, which the server replaces by its base URL.
"""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from harvester.sandbox.sites import DATA, SANDBOX, in_ckan_order, make_id, stamp

# organization name -> title
ORGS = {
    "fiscalia-general-de-justicia": "Fiscalía General de Justicia de la Ciudad de México",
    "sistema-de-transporte-colectivo-metro": "Sistema de Transporte Colectivo Metro",
    "metrobus": "Metrobús",
    "secretaria-de-movilidad": "Secretaría de Movilidad (SEMOVI)",
    "c5": "Centro de Comando, Control, Cómputo, Comunicaciones y Contacto Ciudadano (C5)",
    "secretaria-de-las-mujeres": "Secretaría de las Mujeres",
    "secretaria-de-salud": "Secretaría de Salud de la Ciudad de México",
    "sibiso": "Secretaría de Inclusión y Bienestar Social (SIBISO)",
    "adip": "Agencia Digital de Innovación Pública",
    "ssc": "Secretaría de Seguridad Ciudadana",
    "secretaria-de-educacion": "Secretaría de Educación, Ciencia, Tecnología e Innovación",
    "sedema": "Secretaría del Medio Ambiente",
    "secretaria-de-finanzas": "Secretaría de Administración y Finanzas",
    "dif-cdmx": "Sistema para el Desarrollo Integral de la Familia (DIF CDMX)",
    "inegi": "Instituto Nacional de Estadística y Geografía (INEGI)",
    "imss": "Instituto Mexicano del Seguro Social",
    "conapo": "Consejo Nacional de Población",
    "sesnsp": "Secretariado Ejecutivo del Sistema Nacional de Seguridad Pública",
    "inmujeres": "Instituto Nacional de las Mujeres",
    "ayuntamiento-de-xalapa": "H. Ayuntamiento de Xalapa",
    "infocdmx": "Instituto de Transparencia, Acceso a la Información Pública (INFO CDMX)",
    "municipio-de-veracruz": "H. Ayuntamiento de Veracruz",
    "gobierno-de-zapopan": "Gobierno de Zapopan",
    "ayuntamiento-de-puebla": "H. Ayuntamiento de Puebla",
    "municipalidad-mgp": "Municipalidad de General Pueyrredon",
    "servicio-de-transportes-electricos": "Servicio de Transportes Eléctricos (STE)",
    "secretaria-de-obras-y-servicios": "Secretaría de Obras y Servicios (SOBSE)",
    "sistema-de-aguas": "Sistema de Aguas de la Ciudad de México (SACMEX)",
    "seduvi": "Secretaría de Desarrollo Urbano y Vivienda (SEDUVI)",
    "secretaria-de-cultura": "Secretaría de Cultura de la Ciudad de México",
    "locatel": "Servicio Público de Localización Telefónica (LOCATEL)",
    "coneval": "Consejo Nacional de Evaluación de la Política de Desarrollo Social (CONEVAL)",
    "ssa": "Secretaría de Salud (federal)",
}

# (name, title, organization, groups, tags, notes, resources [(name, format, file)])
CDMX = [
    ("victimas-en-carpetas-de-investigacion-fgj", "Víctimas en carpetas de investigación FGJ",
     "fiscalia-general-de-justicia", ["seguridad", "genero"], ["víctimas", "delitos", "mujeres", "violencia"],
     "Víctimas registradas en las carpetas de investigación de la FGJ, con sexo, edad, delito, alcaldía y "
     "coordenadas del hecho. Columnas hasta 2022: idCarpeta, Año_inicio, Sexo, Edad, AlcaldiaHechos, latitud, longitud.",
     [("Víctimas 2019-2022", "CSV", "victimas_2019_2022.csv"), ("Víctimas 2023", "csv", "victimas_2023.csv"),
      ("Diccionario de datos", "PDF", "diccionario_victimas.pdf")]),
    ("carpetas-de-investigacion-fgj-de-la-ciudad-de-mexico", "Carpetas de investigación FGJ de la Ciudad de México",
     "fiscalia-general-de-justicia", ["seguridad"], ["delitos", "carpetas", "seguridad"],
     "Carpetas de investigación iniciadas por la Fiscalía General de Justicia. Archivo acumulado de unos 2 millones "
     "de filas; los archivos antiguos tienen la columna ao_hechos.",
     [("Carpetas acumulado", ".csv", "carpetas_completa.csv"), ("Carpetas 2024", "text/csv", "carpetas_2024.csv")]),
    ("afluencia-diaria-del-metro-cdmx", "Afluencia diaria del Metro CDMX", "sistema-de-transporte-colectivo-metro",
     ["movilidad"], ["metro", "transporte", "afluencia", "movilidad"],
     "Afluencia diaria por línea y estación del Sistema de Transporte Colectivo Metro.",
     [("Afluencia diaria", "CSV", "afluenciastc_simple.csv")]),
    ("afluencia-diaria-del-metro-cdmx-desglosada", "Afluencia diaria del Metro CDMX (desglosada)",
     "sistema-de-transporte-colectivo-metro", ["movilidad"], ["metro", "transporte", "tipo de pago"],
     "Afluencia desglosada por tipo de pago (boleto, tarjeta, gratuidad).",
     [("Afluencia desglosada", "CSV", "afluenciastc_desglosado.csv")]),
    ("afluencia-diaria-de-metrobus-cdmx", "Afluencia diaria de Metrobús CDMX", "metrobus", ["movilidad"],
     ["metrobús", "transporte", "afluencia"],
     "Afluencia diaria por línea. El valor NaN marca datos faltantes; el archivo de Tren Ligero no tiene línea.",
     [("Afluencia Metrobús", "CSV", "afluenciamb_simple.csv"), ("Afluencia Tren Ligero", "CSV", "afluencia_tl.csv")]),
    ("ecobici-viajes", "Viajes de Ecobici", "secretaria-de-movilidad", ["movilidad", "genero"],
     ["ecobici", "bicicleta", "movilidad", "género"],
     "Viajes del sistema Ecobici con género y edad del usuario, estación y hora de retiro y arribo. Fechas DD/MM/AAAA.",
     [("Viajes enero 2024", "CSV", "ecobici_2024_01.csv"), ("Viajes febrero 2024", "CSV", "ecobici_2024_02.csv"),
      ("Estaciones", "JSON", "estaciones.json")]),
    ("incidentes-viales-c5", "Incidentes viales reportados por C5", "c5", ["movilidad", "seguridad"],
     ["incidentes viales", "tránsito", "c5"],
     "Incidentes viales con folio, fecha, alcaldía, colonia y coordenadas. La codificación cambia por año.",
     [("Incidentes 2019", "CSV", "incidentes_2019.csv"), ("Incidentes 2023", "CSV", "incidentes_2023.csv"),
      ("Incidentes 2024", "CSV", "incidentes_2024.csv")]),
    ("linea-mujeres", "Línea Mujeres", "secretaria-de-las-mujeres", ["genero"], ["mujeres", "violencia", "atención"],
     "Llamadas atendidas por Línea Mujeres: tipo de servicio, edad, alcaldía y temática de la llamada.",
     [("Llamadas Línea Mujeres", "CSV", "linea_mujeres.csv")]),
    ("llamadas-911", "Llamadas al 911", "c5", ["seguridad"], ["911", "emergencias", "llamadas"],
     "Llamadas de emergencia recibidas por el C5, por incidente y alcaldía.",
     [("Llamadas 911 primer semestre", "CSV", "llamadas_911_s1.csv"), ("Llamadas 911 (zip)", "ZIP", "llamadas_911.zip")]),
    ("hechos-de-transito-ssc", "Hechos de tránsito registrados por la SSC", "ssc", ["movilidad", "seguridad"],
     ["tránsito", "hechos viales", "lesionados"],
     "Hechos de tránsito registrados por la Secretaría de Seguridad Ciudadana.",
     [("Hechos de tránsito", "XLSX", "hechos_transito.xlsx")]),
    ("gtfs-cdmx", "GTFS estático de la Ciudad de México", "secretaria-de-movilidad", ["movilidad"],
     ["gtfs", "transporte público", "rutas"], "Feed GTFS del transporte público integrado.",
     [("GTFS", "ZIP", "gtfs.zip")]),
    ("infraestructura-ciclista", "Infraestructura ciclista", "secretaria-de-movilidad", ["movilidad"],
     ["ciclovías", "bicicleta"], "Ciclovías, carriles compartidos y biciestacionamientos.",
     [("Ciclovías", "GeoJSON", "ciclovias.geojson"), ("Ciclovías (shp)", "SHP", "ciclovias.zip")]),
    ("cetram", "Centros de Transferencia Modal (CETRAM)", "secretaria-de-movilidad", ["movilidad"],
     ["cetram", "transporte"], "Ubicación de los CETRAM.", [("CETRAM", "", "cetram.csv")]),
    ("cuadrantes-de-seguridad", "Cuadrantes de seguridad", "ssc", ["seguridad"], ["cuadrantes", "policía"],
     "Polígonos de los cuadrantes de la SSC.", [("Cuadrantes", "geojson", "cuadrantes.geojson")]),
    ("colonias-de-la-ciudad-de-mexico", "Colonias de la Ciudad de México", "adip", ["geografia"],
     ["colonias", "límites"], "Límites de colonias.", [("Colonias", "GeoJSON", "colonias.geojson")]),
    ("alcaldias", "Límites de las alcaldías", "adip", ["geografia"], ["alcaldías", "límites"],
     "Las 16 alcaldías de la Ciudad de México.", [("Alcaldías", "GeoJSON", "alcaldias.geojson"),
                                                   ("Alcaldías (shp)", "SHP", "alcaldias_shp.zip")]),
    ("mujeres-victimas-de-violencia-en-el-transporte", "Mujeres víctimas de acoso en el transporte público",
     "secretaria-de-las-mujeres", ["genero", "movilidad"], ["acoso", "mujeres", "transporte", "género"],
     "Denuncias de acoso sexual en el transporte público por sexo de la víctima, línea y estación.",
     [("Denuncias de acoso", "CSV", "acoso_transporte.csv")]),
    ("caci", "Centros de Atención y Cuidado Infantil (CACI)", "dif-cdmx", ["desarrollo-social", "cuidados"],
     ["cuidados", "guarderías", "infancia"], "Ubicación y capacidad de los CACI de la Ciudad de México.",
     [("CACI", "CSV", "caci.csv"), ("CACI (xlsx)", "XLSX", "caci.xlsx")]),
    ("estancias-infantiles", "Estancias infantiles", "sibiso", ["cuidados"], ["estancias infantiles", "cuidados"],
     "Estancias infantiles registradas, con alcaldía y colonia.", [("Estancias", "CSV", "estancias.csv")]),
    ("centros-de-salud", "Centros de salud", "secretaria-de-salud", ["salud"], ["salud", "centros de salud"],
     "Centros de salud de la Secretaría de Salud con coordenadas.", [("Centros de salud", "CSV", "centros_salud.csv")]),
    ("adultos-mayores-pension", "Personas adultas mayores con pensión", "sibiso", ["cuidados", "desarrollo-social"],
     ["adultos mayores", "pensión", "cuidados"], "Derechohabientes de la pensión para personas adultas mayores.",
     [("Padrón adultos mayores", "CSV", "adultos_mayores.csv")]),
    ("personas-con-discapacidad-apoyo", "Apoyo económico a personas con discapacidad", "dif-cdmx", ["cuidados"],
     ["discapacidad", "apoyos"], "Padrón del apoyo económico a personas con discapacidad permanente.",
     [("Padrón discapacidad", "XLS", "discapacidad.xls")]),
    ("indice-de-desarrollo-social", "Índice de Desarrollo Social", "sibiso", ["desarrollo-social"],
     ["desarrollo social", "pobreza"], "Índice de Desarrollo Social por colonia y alcaldía (EVALÚA).",
     [("IDS por colonia", "CSV", "ids_colonia.csv")]),
    ("cuidadoras-programa-social", "Programa de apoyo a personas cuidadoras", "sibiso", ["cuidados", "genero"],
     ["cuidados", "trabajo no remunerado", "mujeres"], "",
     [("Beneficiarias", "CSV", "cuidadoras.csv")]),
    ("presupuesto-de-egresos", "Presupuesto de egresos", "secretaria-de-finanzas", ["finanzas"],
     ["presupuesto", "finanzas"], "Presupuesto de egresos aprobado y ejercido por unidad responsable.",
     [("Presupuesto 2024", "CSV", "presupuesto_2024.csv"), ("Presupuesto 2023", "XLSX", "presupuesto_2023.xlsx")]),
    ("arbolado-urbano", "Arbolado urbano", "sedema", ["medio-ambiente"], ["árboles", "medio ambiente"],
     "Inventario de árboles en vía pública.", [("Inventario", "CSV", "arbolado.csv")]),
    ("mercados-publicos", "Mercados públicos", "secretaria-de-finanzas", ["economia"], ["mercados", "abasto"],
     "Ubicación de los mercados públicos.", [("Mercados", "CSV", "mercados.csv")]),
    ("calidad-del-aire", "Calidad del aire", "sedema", ["medio-ambiente"], ["aire", "contaminación"],
     "Concentraciones horarias de contaminantes.", [("Mediciones", "CSV", "aire.csv")]),
    ("escuelas-publicas", "Escuelas públicas", "secretaria-de-educacion", ["educacion"], ["escuelas"],
     "Escuelas de educación básica.", [("Escuelas", "CSV", "escuelas.csv")]),
    ("wifi-gratuito", "Puntos de WiFi gratuito", "adip", [], [], "Puntos de acceso WiFi gratuito de la ciudad.",
     [("Puntos WiFi", "CSV", "wifi.csv"), ("Mapa", "HTML", "mapa_wifi.html")]),
    ("tramites-y-servicios", "Trámites y servicios", "adip", [], ["trámites"], "",
     [("Catálogo", "JSON", "tramites.json")]),
    ("afluencia-diaria-de-trolebus", "Afluencia diaria de Trolebús", "servicio-de-transportes-electricos",
     ["movilidad"], ["trolebús", "transporte", "afluencia"],
     "Afluencia diaria por línea del Trolebús, incluida la Línea 0 «Cero Violencia contra las Mujeres».",
     [("Afluencia Trolebús", "CSV", "afluencia_trolebus.csv"), ("Afluencia Tren Ligero", "csv", "afluencia_tl_ste.csv")]),
    ("estaciones-ecobici", "Estaciones de Ecobici", "secretaria-de-movilidad", ["movilidad"],
     ["ecobici", "estaciones", "bicicleta"], "Ubicación y capacidad de las cicloestaciones de Ecobici.",
     [("Estaciones", "JSON", "ecobici_estaciones.json"), ("Estaciones (mapa)", "GeoJSON", "ecobici_estaciones.geojson")]),
    ("senderos-seguros", "Senderos Seguros «Camina libre, camina segura»", "secretaria-de-obras-y-servicios",
     ["genero", "movilidad"], ["senderos seguros", "mujeres", "alumbrado", "seguridad"],
     "Tramos de calle con alumbrado, cámaras y botones de auxilio para que las mujeres caminen seguras.",
     [("Senderos", "GeoJSON", "senderos.geojson"), ("Senderos (tabla)", "CSV", "senderos.csv")]),
    ("camaras-del-c5", "Cámaras de videovigilancia del C5", "c5", ["seguridad"], ["cámaras", "c5", "postes"],
     "Ubicación de los postes con cámaras, altavoces y botón de auxilio.",
     [("Postes C5", "CSV", "postes_c5.csv"), ("Postes C5 (shp)", "SHP", "postes_c5_shp.zip")]),
    ("fotocivicas", "Fotocívicas: infracciones por cámaras", "secretaria-de-movilidad", ["movilidad"],
     ["fotocívicas", "infracciones", "tránsito"], "Infracciones detectadas por fotocívicas por mes y tipo.",
     [("Fotocívicas 2024", "CSV", "fotocivicas_2024.csv"), ("Fotocívicas 2025", "csv", "fotocivicas_2025.csv")]),
    ("lunas-unidades-de-atencion-a-mujeres", "LUNAS: unidades de atención y prevención de la violencia de género",
     "secretaria-de-las-mujeres", ["genero"], ["lunas", "mujeres", "violencia", "género"],
     "Atenciones brindadas en las LUNAS por tipo y modalidad de violencia, edad y alcaldía.",
     [("Atenciones LUNAS", "CSV", "lunas.csv"), ("Nota metodológica", "PDF", "lunas_nota.pdf")]),
    ("cendi", "Centros de Desarrollo Infantil (CENDI)", "secretaria-de-educacion", ["cuidados", "educacion"],
     ["cendi", "infancia", "cuidados"], "Directorio de CENDI con matrícula y horario.",
     [("CENDI", "CSV", "cendi.csv"), ("CENDI (xlsx)", "XLSX", "cendi.xlsx")]),
    ("comedores-comunitarios", "Comedores comunitarios", "sibiso", ["desarrollo-social"],
     ["comedores", "alimentación"], "Comedores comunitarios y raciones servidas.",
     [("Comedores", "CSV", "comedores.csv")]),
    ("hospitales-y-unidades-medicas", "Hospitales y unidades médicas", "secretaria-de-salud", ["salud"],
     ["hospitales", "salud"], "Hospitales generales, materno-infantiles y pediátricos de la red pública.",
     [("Unidades médicas", "CSV", "unidades_medicas.csv"), ("Unidades médicas (mapa)", "GeoJSON", "unidades.geojson")]),
    ("consumo-de-agua", "Consumo de agua por colonia", "sistema-de-aguas", ["medio-ambiente"], ["agua", "consumo"],
     "Consumo bimestral de agua por colonia y tipo de toma.",
     [("Consumo", "CSV", "consumo_agua.csv"), ("Consumo histórico", "ZIP", "consumo_agua_historico.zip")]),
    ("uso-de-suelo", "Uso de suelo", "seduvi", ["geografia"], ["uso de suelo", "predios"], "",
     [("Uso de suelo", "SHP", "uso_suelo.zip")]),
    ("museos", "Museos de la Ciudad de México", "secretaria-de-cultura", [], ["museos", "cultura"],
     "Museos con horario y costo de entrada.", [("Museos", "JSON", "museos.json")]),
    ("solicitudes-311-locatel", "Solicitudes de servicio 311 Locatel", "locatel", [], ["311", "servicios urbanos"],
     "Solicitudes ciudadanas de servicios urbanos (bacheo, alumbrado, fugas) por alcaldía.",
     [("Solicitudes 311", "CSV", "solicitudes_311.csv"), ("Solicitudes 311 (xlsx)", "XLSX", "solicitudes_311.xlsx")]),
    ("rutas-de-transporte-concesionado", "Rutas del transporte concesionado", "secretaria-de-movilidad",
     ["movilidad"], ["microbuses", "rutas", "transporte"], "Derroteros de las rutas concesionadas.",
     [("Rutas", "KML", "rutas_concesionado.kml"), ("Rutas (zip)", "ZIP", "rutas_concesionado.zip")]),
]

FEDERAL = [
    ("encuesta_nacional_uso_del_tiempo_enut_2019", "Encuesta Nacional sobre Uso del Tiempo (ENUT) 2019", "inegi",
     ["cuidados"], ["uso del tiempo", "trabajo no remunerado", "cuidados", "género"],
     "Microdatos de la ENUT: tiempo dedicado al trabajo doméstico y de cuidados no remunerado. Variables SEXO, "
     "EDAD_V, FAC_PER.", [("Microdatos ENUT 2019", "CSV", "enut_2019.csv"), ("Descriptor", "PDF", "enut_fd.pdf"),
      ("Diccionario de datos", "CSV", "diccionario_enut_2019.csv")]),
    ("guarderias_imss", "Guarderías del IMSS", "imss", ["cuidados"], ["guarderías", "cuidados", "infancia"],
     "Guarderías del IMSS por entidad y municipio, con capacidad instalada.",
     [("Guarderías", "CSV", "guarderias_imss.csv")]),
    ("proyecciones-de-la-poblacion", "Proyecciones de la población de México", "conapo", ["poblacion"],
     ["población", "proyecciones"], "Proyecciones por sexo y edad.", [("Proyecciones", "CSV", "proyecciones.csv")]),
    ("incidencia_delictiva_fuero_comun", "Incidencia delictiva del fuero común", "sesnsp", ["seguridad"],
     ["delitos", "incidencia"], "Incidencia delictiva municipal.", [("Incidencia", "CSV", "idm.csv")]),
    ("victimas_fuero_comun", "Víctimas de delitos del fuero común", "sesnsp", ["seguridad", "genero"],
     ["víctimas", "mujeres", "feminicidio"], "Víctimas por sexo y rango de edad.",
     [("Víctimas", "CSV", "victimas_fc.csv")]),
    ("violencia_contra_las_mujeres_endireh", "Violencia contra las mujeres (ENDIREH)", "inmujeres", ["genero"],
     ["violencia", "mujeres", "género"], "Indicadores de la ENDIREH.", [("Indicadores", "XLSX", "endireh.xlsx")]),
    ("encuesta_origen_destino_2017", "Encuesta Origen-Destino en Hogares 2017", "inegi", ["movilidad"],
     ["movilidad", "viajes", "transporte"], "Viajes en la Zona Metropolitana del Valle de México por sexo.",
     [("Viajes", "CSV", "eod_viajes.csv")]),
    ("censo_poblacion_2020", "Censo de Población y Vivienda 2020", "inegi", ["poblacion"], ["censo", "población"],
     "Principales resultados por localidad (ITER).", [("ITER", "CSV", "iter.csv"), ("ITER (zip)", "ZIP", "iter.zip")]),
    ("estancias_infantiles_bienestar", "Estancias infantiles para apoyar a madres trabajadoras", "imss", ["cuidados"],
     ["estancias infantiles", "madres trabajadoras"], "Padrón histórico.", [("Padrón", "CSV", "estancias_fed.csv")]),
    ("presupuesto-federal", "Presupuesto de Egresos de la Federación", "conapo", [], ["presupuesto"], "",
     [("PEF", "CSV", "pef.csv")]),
    ("directorio-de-unidades-economicas", "Directorio Estadístico Nacional de Unidades Económicas", "inegi",
     ["economia"], ["denue", "empresas"], "DENUE.", [("DENUE", "CSV", "denue.csv")]),
    ("xalapa-presupuesto-2016", "Presupuesto de egresos 2016, Xalapa", "ayuntamiento-de-xalapa", [],
     ["presupuesto", "xalapa"], "Presupuesto del Ayuntamiento de Xalapa.", [("Presupuesto", "XLSX", "xal_presupuesto.xlsx")]),
    ("xalapa-rutas-de-transporte", "Rutas de transporte público de Xalapa", "ayuntamiento-de-xalapa", ["movilidad"],
     ["transporte", "rutas", "xalapa"], "Rutas del transporte urbano.", [("Rutas", "KML", "xal_rutas.kml")]),
    ("xalapa-mercados", "Mercados municipales de Xalapa", "ayuntamiento-de-xalapa", [], ["mercados"], "",
     [("Mercados", "CSV", "xal_mercados.csv")]),
    ("xalapa-obra-publica", "Obra pública de Xalapa", "ayuntamiento-de-xalapa", [], ["obra pública"],
     "Obras contratadas.", [("Obras", "CSV", "xal_obras.csv")]),
    ("xalapa-alumbrado-publico", "Alumbrado público de Xalapa", "ayuntamiento-de-xalapa", [], ["alumbrado"],
     "Luminarias por colonia.", [("Luminarias", "CSV", "xal_luminarias.csv")]),
    ("xalapa-instancia-de-las-mujeres", "Atenciones del Instituto Municipal de las Mujeres de Xalapa",
     "ayuntamiento-de-xalapa", ["genero"], ["mujeres", "violencia", "xalapa"], "Atenciones por tipo de violencia.",
     [("Atenciones", "CSV", "xal_mujeres.csv")]),
    ("xalapa-guarderias-municipales", "Guarderías municipales de Xalapa", "ayuntamiento-de-xalapa", ["cuidados"],
     ["guarderías", "cuidados"], "", [("Guarderías", "CSV", "xal_guarderias.csv")]),
    ("encuesta-nacional-sobre-uso-del-tiempo-2014", "Encuesta Nacional sobre Uso del Tiempo (ENUT) 2014", "inegi",
     ["cuidados"], ["uso del tiempo", "cuidados"],
     "Microdatos de la ENUT 2014 (SEXO, EDAD_V, FAC_PER) y tabulados básicos.",
     [("Microdatos ENUT 2014", "ZIP", "enut_2014.zip"), ("Tabulados", "XLSX", "enut_2014_tab.xlsx")]),
    ("censo_alojamientos_de_asistencia_social", "Censo de Alojamientos de Asistencia Social (CAAS)", "inegi",
     ["cuidados"], ["asilos", "adultos mayores", "asistencia social"],
     "Casas hogar, albergues y residencias para personas adultas mayores.", [("CAAS", "CSV", "caas.csv")]),
    ("informacion_sobre_violencia_contra_las_mujeres", "Información sobre violencia contra las mujeres", "sesnsp",
     ["genero", "seguridad"], ["feminicidio", "mujeres", "violencia"],
     "Presuntos delitos de feminicidio y llamadas al 911 por violencia contra las mujeres.",
     [("Víctimas mujeres", "CSV", "violencia_mujeres.csv"), ("Metodología", "PDF", "violencia_mujeres_met.pdf")]),
    ("accidentes_de_transito_terrestre_atus", "Accidentes de tránsito terrestre en zonas urbanas (ATUS)", "inegi",
     ["movilidad"], ["accidentes", "tránsito"], "", [("ATUS", "CSV", "atus.csv")]),
    ("unidades_medicas_clues", "Catálogo de unidades médicas (CLUES)", "ssa", ["salud"], ["clues", "salud"],
     "Establecimientos de salud públicos y privados.", [("CLUES", "XLSX", "clues.xlsx"), ("CLUES (csv)", "CSV", "clues.csv")]),
    ("medicion_de_la_pobreza", "Medición de la pobreza", "coneval", ["desarrollo-social"], ["pobreza"],
     "Indicadores de pobreza por entidad y municipio.", [("Pobreza municipal", "CSV", "pobreza.csv")]),
    ("xalapa-padron-de-proveedores", "Padrón de proveedores de Xalapa", "ayuntamiento-de-xalapa", [],
     ["proveedores", "compras"], "Proveedores registrados.", [("Proveedores", "CSV", "xal_proveedores.csv")]),
]

INFOCDMX = [
    ("solicitudes-de-informacion", "Solicitudes de acceso a la información pública", "infocdmx", ["transparencia"],
     ["solicitudes", "transparencia"], "Solicitudes recibidas por sujeto obligado.", [("Solicitudes", "CSV", "solicitudes.csv")]),
    ("recursos-de-revision", "Recursos de revisión", "infocdmx", ["transparencia"], ["recursos", "transparencia"],
     "Recursos de revisión interpuestos ante el INFO.", [("Recursos", "CSV", "recursos.csv")]),
    ("datatones-resultados", "Resultados de los datatones INFO CDMX", "infocdmx", ["transparencia", "genero"],
     ["datatón", "movilidad", "mujeres", "cuidados"], "Proyectos de los datatones 2023 y 2024.",
     [("Proyectos", "CSV", "datatones.csv")]),
    ("sujetos-obligados", "Padrón de sujetos obligados", "infocdmx", [], ["sujetos obligados"], "",
     [("Padrón", "XLSX", "sujetos.xlsx")]),
    ("denuncias-datos-personales", "Denuncias por datos personales", "infocdmx", [], ["datos personales"],
     "Denuncias recibidas.", [("Denuncias", "CSV", "denuncias.csv")]),
    ("capacitaciones", "Capacitaciones impartidas", "infocdmx", [], ["capacitación"], "Capacitaciones por tema.",
     [("Capacitaciones", "CSV", "capacitaciones.csv")]),
    ("evaluaciones-portales", "Evaluación de portales de transparencia", "infocdmx", ["transparencia"], [],
     "Índice global de cumplimiento.", [("Evaluación", "CSV", "evaluacion.csv")]),
]

VERACRUZ = [
    ("presupuesto-municipal", "Presupuesto municipal", "municipio-de-veracruz", [], ["presupuesto"], "Presupuesto anual.",
     [("Presupuesto", "CSV", "presupuesto.csv")]),
    ("rutas-de-recoleccion", "Rutas de recolección de basura", "municipio-de-veracruz", [], ["basura", "rutas"], "",
     [("Rutas", "CSV", "recoleccion.csv")]),
    ("colonias-de-veracruz", "Colonias del municipio de Veracruz", "municipio-de-veracruz", [], ["colonias"],
     "Catálogo de colonias.", [("Colonias", "GeoJSON", "colonias_ver.geojson")]),
    ("guarderias-dif-veracruz", "Guarderías DIF Veracruz", "municipio-de-veracruz", [], ["guarderías", "cuidados"],
     "Guarderías del DIF municipal.", [("Guarderías", "CSV", "guarderias_ver.csv")]),
    ("incidentes-seguridad-publica", "Incidentes de seguridad pública", "municipio-de-veracruz", [], ["seguridad"],
     "Incidentes atendidos.", [("Incidentes", "XLSX", "incidentes_ver.xlsx")]),
    ("licencias-de-funcionamiento", "Licencias de funcionamiento", "municipio-de-veracruz", [], ["comercio"], "",
     [("Licencias", "CSV", "licencias.csv")]),
]

ZAPOPAN = [
    ("obra-publica-zapopan", "Obra pública", "gobierno-de-zapopan", [], ["obra"], "Obras en proceso.",
     [("Obras", "CSV", "obras_zap.csv")]),
    ("guarderias-imss-zapopan", "Guarderías del IMSS en Zapopan", "gobierno-de-zapopan", [], ["guarderías"], "",
     [("Guarderías", "CSV", "guarderias_zap.csv")]),
    ("reportes-ciudadanos", "Reportes ciudadanos", "gobierno-de-zapopan", [], ["reportes"], "Reportes al 070.",
     [("Reportes", "CSV", "reportes_zap.csv")]),
    ("nomina-zapopan", "Nómina municipal", "gobierno-de-zapopan", [], ["nómina"], "", [("Nómina", "XLS", "nomina.xls")]),
    ("movilidad-zapopan", "Aforos vehiculares", "gobierno-de-zapopan", [], ["movilidad"], "Conteos vehiculares.",
     [("Aforos", "CSV", "aforos_zap.csv")]),
]

PUEBLA = [
    ("presupuesto-puebla", "Presupuesto de egresos", "ayuntamiento-de-puebla", [], ["presupuesto"], "",
     [("Presupuesto", "CSV", "presupuesto_pue.csv")]),
    ("mercados-puebla", "Mercados municipales", "ayuntamiento-de-puebla", [], ["mercados"], "Mercados y tianguis.",
     [("Mercados", "CSV", "mercados_pue.csv")]),
    ("instancia-mujeres-puebla", "Atención a mujeres", "ayuntamiento-de-puebla", [], ["mujeres"], "Atenciones del IMM.",
     [("Atenciones", "CSV", "mujeres_pue.csv")]),
    ("ciclovias-puebla", "Ciclovías", "ayuntamiento-de-puebla", [], ["ciclovías"], "",
     [("Ciclovías", "KML", "ciclovias_pue.kml")]),
    ("seguridad-puebla", "Incidencia delictiva municipal", "ayuntamiento-de-puebla", [], ["seguridad"], "",
     [("Incidencia", "CSV", "incidencia_pue.csv")]),
]

MARDELPLATA = [
    (f"{slug}", title, "municipalidad-mgp", [], tags, notes, [(title, fmt, f"{slug}.{fmt.lower() or 'csv'}")])
    for slug, title, tags, notes, fmt in [
        ("colectivos-recorridos", "Recorridos de colectivos", ["transporte"], "Recorridos de las líneas urbanas.", "KML"),
        ("paradas-de-colectivos", "Paradas de colectivos", ["transporte"], "", "CSV"),
        ("presupuesto-mgp", "Presupuesto municipal", ["presupuesto"], "Ejecución presupuestaria.", "CSV"),
        ("salas-de-primeros-auxilios", "Centros de atención primaria de la salud", ["salud"], "", "CSV"),
        ("jardines-maternales", "Jardines maternales municipales", ["cuidados"], "Jardines maternales.", "CSV"),
        ("estacionamiento-medido", "Estacionamiento medido", ["tránsito"], "", "CSV"),
        ("siniestros-viales", "Siniestros viales", ["tránsito", "seguridad"], "Siniestros por barrio.", "CSV"),
        ("arbolado-mgp", "Arbolado urbano", ["ambiente"], "", "CSV"),
        ("violencia-de-genero-mgp", "Atenciones por violencia de género", ["género", "mujeres"], "", "XLSX"),
        ("wifi-publico-mgp", "Puntos WiFi públicos", [], "", "JSON"),
        ("licitaciones-mgp", "Licitaciones", ["compras"], "", "CSV"),
    ]
]

MIMETYPES = {"CSV": "text/csv", "JSON": "application/json", "GEOJSON": "application/geo+json",
             "ZIP": "application/zip", "PDF": "application/pdf", "XLSX":
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLS": "application/vnd.ms-excel",
             "KML": "application/vnd.google-earth.kml+xml", "HTML": "text/html", "SHP": "application/zip"}
LICENSES = [("cc-by-4.0", "Creative Commons Attribution 4.0"), ("cc-by-4.0", "Creative Commons Attribution 4.0"),
            ("odc-odbl", "Open Data Commons Open Database License (ODbL)"), ("other-closed", "Other (Not Open)"),
            ("", "")]
FREQUENCIES = ["R/P1D", "R/P1M", "R/P3M", "R/P1Y", "irregular"]

Spec = tuple[str, str, str, list[str], list[str], str, list[tuple[str, str, str]]]
LATEST = datetime(2026, 10, 30, 18, 0, 0, 123456)  # the snapshot's "now": nothing is modified after it


def organization(org_name: str) -> dict[str, Any]:
    title = ORGS[org_name]
    return {"id": make_id("org", org_name), "name": org_name, "title": title, "type": "organization",
            "description": f"{title}.", "image_url": "", "created": "2016-01-01T00:00:00.000000",
            "is_organization": True, "approval_status": "approved", "state": "active"}


def dates(index: int, rng: random.Random) -> tuple[datetime, datetime]:
    """(created, modified) spread over 2016..2026-10; every sixth dataset was touched in the last weeks."""
    created = datetime(2016, 1, 1) + timedelta(days=rng.randint(0, 3000), seconds=rng.randint(0, 86399),
                                               microseconds=rng.randint(0, 999999))
    if index % 6 == 0:
        modified = datetime(2026, 9, 1) + timedelta(days=rng.randint(0, 55), seconds=rng.randint(0, 86399),
                                                    microseconds=rng.randint(0, 999999))
    else:
        modified = created + timedelta(days=rng.randint(0, 1500), seconds=rng.randint(0, 86399),
                                       microseconds=rng.randint(0, 999999))
    modified = min(modified, LATEST - timedelta(days=index % 40))
    return min(created, modified - timedelta(days=30)), modified


def expand(site: str, spec: Spec, index: int, rng: random.Random, *,
           update_frequency: bool = False) -> dict[str, Any]:
    """One literal -> a CKAN package dict, with realistic, deterministic gaps."""
    name, title, org_name, groups, tags, notes, resources = spec
    dataset_id = make_id(site, name)
    created, modified = dates(index, rng)
    license_id, license_title = LICENSES[index % len(LICENSES)]
    org = organization(org_name)
    res_dicts = []
    for position, (res_name, fmt, filename) in enumerate(resources):
        rid = make_id(site, f"{name}/{filename}")
        gap = (index + position) % 3 == 0
        res: dict[str, Any] = {
            "id": rid, "package_id": dataset_id, "name": res_name, "description": "" if gap else f"{res_name}.",
            "url": f"{SANDBOX}/files/{site}/{name}/{filename}", "format": fmt,
            "mimetype": None if gap else MIMETYPES.get(fmt.upper().lstrip("."), None),
            "size": None if gap else rng.randint(2_000, 90_000_000),
            "last_modified": None if gap else stamp(modified - timedelta(hours=1)),
            "created": stamp(created), "url_type": "upload" if position % 2 == 0 else "",
            "position": position, "hash": "", "state": "active", "cache_url": None, "datastore_active": False,
        }
        if update_frequency:
            res["update_frequency"] = FREQUENCIES[(index + position) % len(FREQUENCIES)]
        res_dicts.append(res)
    no_contact = index % 4 == 1
    return in_ckan_order({
        "id": dataset_id, "name": name, "title": title, "notes": notes, "type": "dataset", "state": "active",
        "private": False, "license_id": license_id, "license_title": license_title,
        "author": None if no_contact else org["title"],
        "author_email": None if no_contact else f"datos@{org_name}.gob.mx",
        "maintainer": None if index % 5 == 2 else "Unidad de Transparencia",
        "maintainer_email": None if index % 5 == 2 else f"transparencia@{org_name}.gob.mx",
        "metadata_created": stamp(created), "metadata_modified": stamp(modified),
        "organization": org, "owner_org": org["id"],
        "groups": [{"id": make_id("group", g), "name": g, "title": g.replace("-", " ").capitalize(),
                    "display_name": g.replace("-", " ").capitalize(), "description": "", "image_display_url": ""}
                   for g in groups],
        "tags": [{"id": make_id("tag", t), "name": t, "display_name": t, "state": "active",
                  "vocabulary_id": None} for t in tags],
        "extras": [{"key": "frecuencia", "value": FREQUENCIES[index % len(FREQUENCIES)]},
                   {"key": "cobertura", "value": "Ciudad de México" if site == "cdmx" else ""}][: index % 3],
        "resources": res_dicts, "num_resources": len(res_dicts), "num_tags": len(tags),
        "url": "", "version": None, "isopen": license_id.startswith(("cc-", "odc-")),
        "relationships_as_object": [], "relationships_as_subject": [],
    })


def harvest_source(site: str, name: str, title: str, source_url: str) -> dict[str, Any]:
    """A ckanext-harvest pseudo-dataset, as such portals list them in package_search (owned by the portal's
    own agency: ckanext-harvest refuses a source without an organization)."""
    owner = organization("adip")
    return {"id": make_id(site, name), "name": name, "title": title, "type": "harvest", "state": "active",
            "private": False, "notes": "", "url": source_url, "source_type": "dcat_json", "frequency": "WEEKLY",
            "metadata_created": "2020-05-01T10:00:00.000000", "metadata_modified": "2024-03-02T08:15:00.500000",
            "organization": owner, "owner_org": owner["id"], "resources": [], "tags": [], "groups": [],
            "extras": [], "num_resources": 0, "num_tags": 0}


def build() -> dict[str, list[dict[str, Any]]]:
    """Every site's datasets, in a stable order."""
    rng = random.Random(20261123)

    def many(site: str, specs: list[Spec], **kw: Any) -> list[dict[str, Any]]:
        return [expand(site, spec, i, rng, **kw) for i, spec in enumerate(specs)]

    cdmx = many("cdmx", CDMX)
    # Two datasets modified within the same millisecond, and two at the very same instant (bulk loads do
    # that): clients paging at Solr's millisecond precision must not lose either.
    same_ms = cdmx[0]["metadata_modified"][:23]
    cdmx[0]["metadata_modified"], cdmx[1]["metadata_modified"] = same_ms + "100", same_ms + "700"
    cdmx[3]["metadata_modified"] = cdmx[2]["metadata_modified"]
    for dataset in cdmx[:4]:
        dataset["metadata_created"] = min(dataset["metadata_created"], dataset["metadata_modified"])
    # Metadata gaps: one dataset with no tags, no licence, no notes.
    cdmx[30].update(tags=[], num_tags=0, license_id="", license_title="", notes="", isopen=False)
    cdmx += [harvest_source("cdmx", "cosecha-datos-alcaldias", "Cosecha: portales de alcaldías",
                            "https://alcaldias.example/catalog.json"),
             harvest_source("cdmx", "cosecha-datos-gob-mx", "Cosecha: datos.gob.mx",
                            "https://federal.example/catalog.json")]
    return {
        "cdmx": cdmx,
        "federal": many("federal", FEDERAL, update_frequency=True),
        "infocdmx": many("infocdmx", INFOCDMX),
        "veracruz": many("veracruz", VERACRUZ),
        "zapopan": many("zapopan", ZAPOPAN),
        "puebla": many("puebla", PUEBLA),
        "mardelplata": many("mardelplata", MARDELPLATA),
    }


def dump(datasets: list[dict[str, Any]]) -> str:
    """One dataset per line: compact, yet a change shows as a one-line diff."""
    return "[\n" + ",\n".join(json.dumps(d, ensure_ascii=False, sort_keys=True) for d in datasets) + "\n]\n"


def main(out: Path = DATA) -> None:
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for site, datasets in build().items():
        text = dump(datasets)
        (out / f"{site}.json").write_text(text, encoding="utf-8")
        total += len(text.encode("utf-8"))
        print(f"{site}: {len(datasets)} datasets")
    print(f"{total} bytes in {out}")


if __name__ == "__main__":
    main()
