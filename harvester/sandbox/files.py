"""The files behind every resource URL of the bundled snapshot, generated deterministically in memory,
with the real-world mess of ../shared/REAL_WORLD.md placed in the theme datasets (see MESS_CASES)."""
from __future__ import annotations

import datetime
import io
import json
import random
import re
import zipfile
from functools import lru_cache

from harvester.sandbox.sites import load_snapshot

SITES = ("cdmx", "federal", "infocdmx", "veracruz", "zapopan", "puebla", "mardelplata")
ALCALDIAS = ["Álvaro Obregón", "Azcapotzalco", "Benito Juárez", "Coyoacán", "Cuajimalpa de Morelos", "Cuauhtémoc",
             "Gustavo A. Madero", "Iztacalco", "Iztapalapa", "La Magdalena Contreras", "Miguel Hidalgo",
             "Milpa Alta", "Tláhuac", "Tlalpan", "Venustiano Carranza", "Xochimilco"]
SPELLINGS = ["Cuauhtémoc", "Cuauhtemoc", "CUAUHTÉMOC", "GUSTAVO A MADERO", "GUSTAVO A. MADERO"]

# mess case -> the file (site/dataset/file) that carries it
MESS_CASES = {
    "cp1252_late_accent": "cdmx/victimas-en-carpetas-de-investigacion-fgj/victimas_2019_2022.csv",
    "utf8_bom_snake_case": "cdmx/victimas-en-carpetas-de-investigacion-fgj/victimas_2023.csv",
    "placeholder_nan": "cdmx/afluencia-diaria-de-metrobus-cdmx/afluenciamb_simple.csv",
    "sibling_columns_differ": "cdmx/afluencia-diaria-de-metrobus-cdmx/afluencia_tl.csv",
    "mojibake": "cdmx/afluencia-diaria-del-metro-cdmx-desglosada/afluenciastc_desglosado.csv",
    "decimal_comma_latin1": "cdmx/incidentes-viales-c5/incidentes_2019.csv",
    "mixed_dates_spellings": "cdmx/incidentes-viales-c5/incidentes_2023.csv",
    "dmy_dates_header_typo": "cdmx/ecobici-viajes/ecobici_2024_01.csv",
    "ragged_rows": "cdmx/linea-mujeres/linea_mujeres.csv",
    "semicolon_delimiter": "cdmx/estancias-infantiles/estancias.csv",
    "preamble_rows": "federal/encuesta_nacional_uso_del_tiempo_enut_2019/enut_2019.csv",
    # "WAFs and proxies answer with HTML pages, sometimes with status 200": a CSV link that serves a page
    "html_instead_of_file": "cdmx/llamadas-911/llamadas_911_s1.csv",
    # "Literal NaN, N/D, NA, - and empty strings as missing values": after the 100 rows frictionless samples
    "placeholder_nd": "cdmx/adultos-mayores-pension/adultos_mayores.csv",
    "placeholder_na": "cdmx/centros-de-salud/centros_salud.csv",
    "placeholder_dash": "federal/guarderias_imss/guarderias_imss.csv",
    # "XLSX with several sheets"
    "xlsx_several_sheets": "cdmx/hechos-de-transito-ssc/hechos_transito.xlsx",
    # "mojibake already baked into UTF-8 text (PeriodicidadÃ³n, ï»¿Conjunto de datos)"
    "bom_mojibake_header": "cdmx/indice-de-desarrollo-social/ids_colonia.csv",
    # "older files have ao_hechos (the ñ of año lost)"; "migrated datasets still carry geo_point_2d, geo_shape"
    "lost_enye_header": "cdmx/carpetas-de-investigacion-fgj-de-la-ciudad-de-mexico/carpetas_completa.csv",
    "opendatasoft_columns": "cdmx/carpetas-de-investigacion-fgj-de-la-ciudad-de-mexico/carpetas_completa.csv",
    # "DuckDB ... Latin-1 there refuses bytes 0x80-0x9F, which cp1252 uses for € “ ” – —"
    "cp1252_c1_bytes": "cdmx/presupuesto-de-egresos/presupuesto_2024.csv",
    # a number column with text and a decimal comma past the sample: type errors a sampler never sees
    "type_errors_late": "cdmx/fotocivicas/fotocivicas_2024.csv",
    # a row of delimiters only, in the middle of the data
    "blank_row": "cdmx/cendi/cendi.csv",
    # "ZIP files holding CSV or shapefiles; GeoJSON", and JSON tables
    "zip_with_csv": "cdmx/consumo-de-agua/consumo_agua_historico.zip",
    "shapefile_zip": "cdmx/infraestructura-ciclista/ciclovias.zip",
    "geojson": "cdmx/infraestructura-ciclista/ciclovias.geojson",
    "json_table": "cdmx/tramites-y-servicios/tramites.json",
}


def _rows_csv(header: list[str], rows: list[list[object]], delimiter: str = ",") -> str:
    def cell(v: object) -> str:
        text = "" if v is None else str(v)
        return '"' + text.replace('"', '""') + '"' if (delimiter in text or '"' in text) else text
    return "\n".join([delimiter.join(header)] + [delimiter.join(cell(v) for v in r) for r in rows]) + "\n"


def _victimas(rng: random.Random, late_accents: bool) -> str:
    header = ["idCarpeta", "Año_inicio", "FechaInicio", "Delito", "Sexo", "Edad", "AlcaldiaHechos", "latitud", "longitud"]
    rows = []
    for i in range(3000):
        alcaldia = "Iztapalapa" if (late_accents and i < 2800) else ALCALDIAS[i % 16]
        rows.append([8_000_000 + i, 2019 + i % 4, f"{2019 + i % 4}-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
                     "ROBO A TRANSEUNTE" if i % 3 else "VIOLENCIA FAMILIAR", "Mujer" if i % 2 else "Hombre",
                     18 + i % 60, alcaldia, f"{19.3 + rng.random() / 5:.6f}", f"{-99.2 + rng.random() / 5:.6f}"])
    text = _rows_csv(header, rows)
    return text.replace("Año_inicio", "Ano_inicio") if late_accents else text  # keep the header ASCII too


def _generic(rng: random.Random, name: str) -> str:
    header = ["id", "nombre", "alcaldia", "fecha", "valor"]
    rows = [[i + 1, f"{name} {i + 1}", ALCALDIAS[(i * 7) % 16], f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
             rng.randint(0, 5000)] for i in range(200)]
    return _rows_csv(header, rows)


def _with_placeholder(header: list[str], rows: list[list[object]], column: int, placeholder: str) -> bytes:
    """Rows whose `column` holds `placeholder` from row 151 on, every 7th row."""
    for i, row in enumerate(rows):
        if i >= 150 and i % 7 == 0:
            row[column] = placeholder
    return _rows_csv(header, rows).encode()


def _placeholders(key: str, rng: random.Random) -> bytes | None:
    if key == MESS_CASES["placeholder_nd"]:
        rows = [[i + 1, ALCALDIAS[i % 16], 65 + i % 30, 3_100 + (i % 5) * 50] for i in range(300)]
        return _with_placeholder(["folio", "alcaldia", "edad", "monto_pension"], rows, 3, "N/D")
    if key == MESS_CASES["placeholder_na"]:
        rows = [[i + 1, f"Centro de Salud T-{i % 3 + 1} {i + 1}", ALCALDIAS[i % 16], 5 + i % 20] for i in range(250)]
        return _with_placeholder(["clues", "nombre", "alcaldia", "consultorios"], rows, 3, "NA")
    if key == MESS_CASES["placeholder_dash"]:
        rows = [[f"GU{i:05d}", "Guardería IMSS", f"Estado {i % 32 + 1}", 60 + i % 200] for i in range(260)]
        return _with_placeholder(["clave", "nombre", "entidad", "capacidad"], rows, 3, "-")
    return None


def _csv(key: str, rng: random.Random) -> bytes:
    placeholders = _placeholders(key, rng)
    if placeholders is not None:
        return placeholders
    if key == MESS_CASES["bom_mojibake_header"]:
        rows = [[f"09{i % 16 + 2:03d}", f"Colonia {i + 1}", ALCALDIAS[i % 16], f"{0.5 + (i % 50) / 100:.2f}",
                 "PeriodicidadÃ³n anual" if i % 10 == 0 else "Anual"] for i in range(200)]
        return _rows_csv(["ï»¿Conjunto de datos", "colonia", "alcaldia", "ids", "periodicidad"], rows).encode()
    if key == MESS_CASES["lost_enye_header"]:
        rows = [[2019 + i % 4, i % 12 + 1, f"{2019 + i % 4}-{i % 12 + 1:02d}-{i % 28 + 1:02d}", "ROBO DE VEHICULO",
                 ALCALDIAS[i % 16], f"{19.3 + i / 10_000:.5f},{-99.2 + i / 10_000:.5f}",
                 '{"type": "Point", "coordinates": [-99.2, 19.3]}'] for i in range(400)]
        return _rows_csv(["ao_hechos", "mes_hechos", "fecha_hechos", "delito", "alcaldia_hechos", "geo_point_2d",
                          "geo_shape"], rows).encode()
    if key == MESS_CASES["cp1252_c1_bytes"]:
        rows = [[f"{i + 1:03d}", "“Programa de cuidados” – 2024" if i % 5 == 0 else "Programa de movilidad",
                 ALCALDIAS[i % 16], 1_000_000 + i * 250] for i in range(200)]
        return _rows_csv(["clave", "descripcion", "unidad_responsable", "monto"], rows).encode("cp1252")
    if key == MESS_CASES["type_errors_late"]:
        rows = [[f"FC{i:06d}", f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}", ALCALDIAS[i % 16],
                 "sin dato" if i == 298 else "12,5" if i == 299 else 500 + i % 300] for i in range(400)]
        return _rows_csv(["folio", "fecha", "alcaldia", "monto"], rows).encode()
    if key == MESS_CASES["blank_row"]:
        rows: list[list[object]] = [[i + 1, f"CENDI {i + 1}", ALCALDIAS[i % 16], 40 + i % 60] for i in range(120)]
        rows.insert(60, ["", "", "", ""])
        return _rows_csv(["id", "nombre", "alcaldia", "capacidad"], rows).encode()
    if key == MESS_CASES["cp1252_late_accent"]:
        return _victimas(rng, True).encode("cp1252")
    if key == MESS_CASES["utf8_bom_snake_case"]:
        text = _victimas(rng, False).replace("idCarpeta", "id_carpeta").replace("Año_inicio", "anio_inicio")
        return b"\xef\xbb\xbf" + text.encode()
    if key == MESS_CASES["placeholder_nan"]:
        rows = [[f"2024-01-{d % 28 + 1:02d}", 2024, 1, f"Línea {d % 7 + 1}", "NaN" if d % 9 == 0 else 40_000 + d * 13]
                for d in range(300)]
        return _rows_csv(["fecha", "anio", "mes", "linea", "afluencia"], rows).encode()
    if key == MESS_CASES["sibling_columns_differ"]:
        rows = [[2024, 40_000 + d, f"2024-01-{d % 28 + 1:02d}", 1] for d in range(200)]
        return _rows_csv(["anio", "afluencia", "fecha", "mes"], rows).encode()
    if key == MESS_CASES["mojibake"]:
        rows = [[f"2024-02-{d % 28 + 1:02d}", f"Línea {d % 12 + 1}", "Pino SuÃ¡rez" if d % 4 == 0 else "Zócalo",
                 "Tarjeta" if d % 2 else "Boleto", 1000 + d] for d in range(300)]
        return _rows_csv(["fecha", "linea", "estacion", "tipo_pago", "afluencia"], rows).encode()
    if key == MESS_CASES["decimal_comma_latin1"]:
        rows = [[f"C5/{i:06d}", f"2019-03-{i % 28 + 1:02d}", f"{i % 24:02d}:15:00", ALCALDIAS[i % 16], "Centro",
                 f"{-99.1 - i / 10_000:.4f}".replace(".", ","), f"{19.4 + i / 10_000:.4f}".replace(".", ",")]
                for i in range(400)]
        return _rows_csv(["folio", "fecha_creacion", "hora_creacion", "alcaldia_catalogo", "colonia_catalogo",
                          "longitud", "latitud"], rows).encode("latin-1")
    if key == MESS_CASES["mixed_dates_spellings"]:
        rows = [[f"C5/{i:06d}", f"2023-05-{i % 28 + 1:02d}" if i % 2 else f"{i % 28 + 1:02d}/05/2023",
                 SPELLINGS[i % 5], f"{-99.1 - i / 10_000:.4f}", f"{19.4 + i / 10_000:.4f}"] for i in range(400)]
        return _rows_csv(["folio", "fecha_creacion", "alcaldia_catalogo", "longitud", "latitud"], rows).encode()
    if key == MESS_CASES["dmy_dates_header_typo"]:
        rows = [["M" if i % 3 else "F", 18 + i % 50, 10_000 + i, 100 + i % 40, f"{i % 28 + 1:02d}/01/2024",
                 f"{i % 24:02d}:0{i % 6}:00", 100 + (i + 7) % 40, f"{i % 28 + 1:02d}/01/2024"] for i in range(500)]
        return _rows_csv(["Genero_Usuario", "Edad_Usuario", "Bici", "Ciclo_Estacion_Retiro", "Fecha_Retiro",
                          "Hora_Retiro", "Ciclo_EstacionArribo", "Fecha_Arribo"], rows).encode()
    if key == MESS_CASES["ragged_rows"]:
        lines = ["fecha,tematica,edad,alcaldia"]
        for i in range(120):
            line = f"2024-03-{i % 28 + 1:02d},Violencia,{20 + i % 40},{ALCALDIAS[i % 16]}"
            lines.append(line.rsplit(",", 1)[0] if i == 40 else line + ",extra" if i == 80 else line)
        return ("\n".join(lines) + "\n").encode()
    if key == MESS_CASES["semicolon_delimiter"]:
        rows = [[i + 1, f"Estancia {i + 1}", ALCALDIAS[i % 16], 20 + i % 30] for i in range(150)]
        return _rows_csv(["id", "nombre", "alcaldia", "capacidad"], rows, ";").encode()
    if key == MESS_CASES["preamble_rows"]:
        rows = [[i + 1, 1 + i % 2, 12 + i % 80, f"{rng.uniform(50, 900):.2f}", 10 + i % 50] for i in range(400)]
        text = _rows_csv(["ID_PER", "SEXO", "EDAD_V", "FAC_PER", "HORAS_CUIDADO"], rows)
        return ("Encuesta Nacional sobre Uso del Tiempo (ENUT) 2019,,,,\nInstituto Nacional de Estadística y "
                "Geografía,,,,\n,,,,\n" + text + "Fuente: INEGI.,,,,\n").encode()
    return _generic(rng, key.rsplit("/", 2)[-2]).encode()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            archive.writestr(info, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _xlsx(key: str, rng: random.Random) -> bytes:
    """A real workbook, byte-identical on every run: fixed document dates and zip entry times."""
    import openpyxl  # a dependency through frictionless[excel]

    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = datetime.datetime(2024, 1, 1)
    sheets = ("2023", "2024") if key == MESS_CASES["xlsx_several_sheets"] else ("datos",)
    for number, title in enumerate(sheets):
        sheet = book.active if number == 0 else book.create_sheet()
        sheet.title = title
        if key == MESS_CASES["xlsx_several_sheets"]:
            sheet.append(["fecha", "hora", "alcaldia", "tipo_evento", "lesionados", "latitud", "longitud"])
            for i in range(200):
                sheet.append([f"{title}-{i % 12 + 1:02d}-{i % 28 + 1:02d}", f"{i % 24:02d}:{i % 60:02d}:00",
                              ALCALDIAS[i % 16], "CHOQUE" if i % 3 else "ATROPELLADO", i % 4,
                              round(19.3 + rng.random() / 5, 6), round(-99.2 + rng.random() / 5, 6)])
        else:
            sheet.append(["id", "nombre", "alcaldia", "valor"])
            for i in range(50):
                sheet.append([i + 1, f"Registro {i + 1}", ALCALDIAS[i % 16], rng.randint(0, 5000)])
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as saved:
        members = {info.filename: saved.read(info) for info in saved.infolist()}
    # openpyxl stamps the save time into docProps/core.xml whatever the properties say
    members["docProps/core.xml"] = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z",
                                          members["docProps/core.xml"])
    return zip_bytes(members)


def _content(key: str, fmt: str, rng: random.Random) -> bytes:
    extension = key.rsplit(".", 1)[-1].lower()
    if key == MESS_CASES["html_instead_of_file"] or extension in ("html", "htm"):  # status 200 either way
        return b"<!DOCTYPE html><html><head><title>Mapa</title></head><body><div id='mapa'></div></body></html>"
    if extension == "pdf":
        return b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    if extension in ("geojson",):
        features = [{"type": "Feature", "properties": {"nombre": ALCALDIAS[i % 16]},
                     "geometry": {"type": "Point", "coordinates": [-99.2 + i / 100, 19.3 + i / 100]}} for i in range(20)]
        return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()
    if extension == "json":
        return json.dumps([{"id": i, "alcaldia": ALCALDIAS[i % 16]} for i in range(50)], ensure_ascii=False).encode()
    if extension in ("kml", "xml"):
        return b'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>'
    if extension == "xls":
        return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    if extension == "xlsx":
        return _xlsx(key, rng)
    if extension == "zip" and fmt.upper() == "SHP":
        stem = key.rsplit("/", 1)[-1][:-4]
        return zip_bytes({f"{stem}.shp": bytes(100), f"{stem}.shx": bytes(100), f"{stem}.dbf": bytes(33),
                     f"{stem}.prj": b'GEOGCS["WGS 84"]'})
    if extension == "zip":
        return zip_bytes({key.rsplit("/", 1)[-1][:-4] + ".csv": _generic(rng, "zip").encode()})
    return _csv(key, rng)


@lru_cache(maxsize=1)
def resource_files() -> dict[str, bytes]:
    """Bytes for every resource file of the snapshot, keyed by '<site>/<dataset>/<file>'."""
    files: dict[str, bytes] = {}
    for site in SITES:
        for dataset in load_snapshot(site):
            for resource in dataset.get("resources") or []:
                url = str(resource.get("url") or "")
                if "{sandbox}/files/" in url:
                    key = url.split("{sandbox}/files/", 1)[1]
                    files[key] = _content(key, str(resource.get("format") or ""), random.Random(key))
    return files
