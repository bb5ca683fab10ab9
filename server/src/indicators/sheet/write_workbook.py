"""Writes workbook.xlsx, the sheet.rs tests' workbook as a real spreadsheet library writes it.

Run with Debian's python3-openpyxl: /usr/bin/python3 write_workbook.py
"""
import datetime

from openpyxl import Workbook

wb = Workbook()
notes = wb.active
notes.title = "Ghi chú"  # not the first sheet in the file's order below
data = wb.create_sheet("Số liệu", 0)  # the first sheet of the workbook
data.append(["Chỉ tiêu", "Địa bàn", "Kỳ", "Giá trị", "Ghi chú"])
data.append(["budget_revenue", "q1", "2026-10", 812.5, "Thu ngân sách & phí"])
data.append([])  # a blank row, skipped
data.append(["grdp_growth", "city", "2026-Q3", 7.1, None])
data.append(["population", "q3", 2025, 190000, "năm"])
data.append(["online_dossier_share", "so-yt", datetime.date(2026, 10, 1), "91,2", None])
data.append(["online_dossier_share", "q1", "2026-09", None, "no value"])
notes.append(["nothing here is read"])
wb.save("workbook.xlsx")
