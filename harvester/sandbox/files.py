"""The files behind every resource URL of the bundled snapshot, generated deterministically in memory,
with the real-world mess of ../shared/REAL_WORLD.md placed in the theme datasets (see MESS_CASES)."""
from __future__ import annotations

import io
import json
import random
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
    "html_instead_of_file": "cdmx/wifi-gratuito/mapa_wifi.html",
}


def _rows_csv(header: list[str], rows: list[list[object]], delimiter: str = ",") -> str:
    def cell(v: object) -> str:
        text = "" if v is None else str(v)
        return f'"{text}"' if (delimiter in text or '"' in text) else text
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


def _csv(key: str, rng: random.Random) -> bytes:
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


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            archive.writestr(info, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _content(key: str, fmt: str, rng: random.Random) -> bytes:
    extension = key.rsplit(".", 1)[-1].lower()
    if key == MESS_CASES["html_instead_of_file"] or extension in ("html", "htm"):
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
        return _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook><sheets><sheet name='2023'/>"
                     b"<sheet name='2024'/></sheets></workbook>", "xl/worksheets/sheet1.xml": b"<worksheet/>",
                     "xl/worksheets/sheet2.xml": b"<worksheet/>"})
    if extension == "zip" and fmt.upper() == "SHP":
        stem = key.rsplit("/", 1)[-1][:-4]
        return _zip({f"{stem}.shp": bytes(100), f"{stem}.shx": bytes(100), f"{stem}.dbf": bytes(33),
                     f"{stem}.prj": b'GEOGCS["WGS 84"]'})
    if extension == "zip":
        return _zip({key.rsplit("/", 1)[-1][:-4] + ".csv": _generic(rng, "zip").encode()})
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
